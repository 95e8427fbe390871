import { APP_ENTRY } from '../paths.js'
import { describeApp } from './app-record.js'
import { type SpawnedServer, spawnServer } from './spawn-server.js'

/**
 * Where the microblog's write-queue consumers run: `process`, one process of their own beside the app
 * (which then only accepts: `HF_CONSUMERS=off`), at a lower CPU priority so that during a burst the
 * accepting path wins the cores and the consumers drain with what is left; `inline`, inside the app
 * process, as `npm start` runs them.
 */
export type ConsumerLayout = 'process' | 'inline'

/** The niceness of a consumer process (`nice -n`): the front's requests come first on a shared machine. */
export const CONSUMER_NICE = 10

/** The environments of the app and of its consumer process (absent when there is none). */
export interface AppProcesses {
  front: Record<string, string>
  consumers?: Record<string, string>
}

/**
 * Splits an app environment by `layout`: with the queue on JetStream and `process`, the front gets
 * `HF_CONSUMERS=off` and a consumer process gets the same environment with `HF_CONSUMERS=on`; otherwise
 * the environment is left as it is (a queue-less app has no consumers, an in-process broker cannot be
 * shared). `effective` is what the app will see (the bench's own `HF_*` included), for telling whether
 * the queue is on.
 *
 * @example
 * appProcesses({ HF_NATS_URL: 'nats://…' }, { HF_NATS_URL: 'nats://…' }, 'process')
 * // { front: { …, HF_CONSUMERS: 'off' }, consumers: { …, HF_CONSUMERS: 'on' } }
 */
export function appProcesses(
  env: Readonly<Record<string, string>>,
  effective: Readonly<Record<string, string>>,
  layout: ConsumerLayout,
): AppProcesses {
  // An in-process broker lives in the app: only a JetStream queue can be consumed from elsewhere.
  if (layout === 'inline' || describeApp(effective).queue !== 'jetstream') return { front: { ...env } }
  return { front: { ...env, HF_CONSUMERS: 'off' }, consumers: { ...env, HF_CONSUMERS: 'on' } }
}

/** The app's serving process and, when the consumers run apart, their process. */
export interface SpawnedApp {
  server: SpawnedServer
  consumers: SpawnedServer | undefined
}

/**
 * Starts the processes of `layout`: the consumer process first (at {@link CONSUMER_NICE}; the app's
 * first requests may already be writes), then the serving one. If the second fails to start, the first
 * is stopped before the error is thrown.
 *
 * @example
 * const { server, consumers } = await spawnAppProcesses(appProcesses(env, env, 'process'), {}, signal)
 */
export async function spawnAppProcesses(
  layout: AppProcesses,
  pin: { cpus?: string },
  signal: AbortSignal,
): Promise<SpawnedApp> {
  const consumers = layout.consumers
    ? await spawnServer({ entry: APP_ENTRY, env: layout.consumers, ...pin, nice: CONSUMER_NICE }, signal)
    : undefined
  const server = await spawnServer({ entry: APP_ENTRY, env: layout.front, ...pin }, signal).catch(
    async (error: unknown) => {
      await consumers?.[Symbol.asyncDispose]()
      throw error
    },
  )
  return { server, consumers }
}

/** Both processes' last output lines, the consumers' under a heading. */
export function appTail({ server, consumers }: SpawnedApp): string {
  return server.tail() + (consumers ? `\n[consumers]\n${consumers.tail()}` : '')
}
