import { performance } from 'node:perf_hooks'
import { createQueue, type Queue } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import { Redis } from 'ioredis'
import { BenchError } from '../errors.js'
import {
  cleanUpNamespace,
  EDGES_CONSUMER,
  followsStream,
  postsStream,
  TIMELINE_CONSUMER,
  waitForDrain,
} from './app-queue.js'
import { postgresReachable } from './postgres-db.js'
import { natsUnfit, redisUnfit } from './service-probes.js'

/** Which servers the microblog runs on for a run, and why `auto` settled for less than all of them. */
export interface AppStack {
  /** `full` = PostgreSQL + Redis + JetStream; `postgres` / `embedded` name the database of anything less. */
  kind: 'full' | 'postgres' | 'embedded'
  postgres: boolean
  /** Set when the app uses Redis (cache L2, invalidation, home timelines). */
  redisUrl?: string
  /** Set when the app's write queue runs on this JetStream broker. */
  natsUrl?: string
  /** Why `auto` ran less than the full system. */
  fallback?: string
}

/** Where the servers of the full system are. */
export interface StackOptions {
  target: string
  postgresUrl: string
  redisUrl: string
  natsUrl: string
}

/**
 * Resolves `--target` for the microblog: `full` needs PostgreSQL, Redis and a JetStream broker to answer
 * (else `E_BENCH_TARGET`); `auto` runs the full system when all three answer, else what does answer
 * (PostgreSQL or PGlite, plus Redis and the queue where they answer) and says why in `fallback`;
 * `postgres` and `embedded` run the app on that database alone. Undefined for other targets.
 *
 * @example
 * const stack = await resolveAppStack(options, signal) // { kind: 'full', postgres: true, redisUrl, natsUrl }
 */
export async function resolveAppStack(
  options: StackOptions,
  signal: AbortSignal,
): Promise<AppStack | undefined> {
  if (options.target === 'postgres') return { kind: 'postgres', postgres: true }
  if (options.target === 'embedded') return { kind: 'embedded', postgres: false }
  if (options.target !== 'auto' && options.target !== 'full') return undefined
  const [postgres, redis, nats] = await Promise.all([
    postgresReachable(options.postgresUrl),
    redisUnfit(options.redisUrl, signal),
    natsUnfit(options.natsUrl, signal),
  ])
  signal.throwIfAborted()
  const missing = [
    ...(postgres ? [] : [`PostgreSQL at ${redactUrl(options.postgresUrl)} did not answer`]),
    ...(redis === undefined ? [] : [redis]),
    ...(nats === undefined ? [] : [nats]),
  ]
  const services = {
    ...(redis === undefined ? { redisUrl: options.redisUrl } : {}),
    ...(nats === undefined ? { natsUrl: options.natsUrl } : {}),
  }
  if (missing.length === 0) return { kind: 'full', postgres: true, ...services }
  if (options.target === 'full') {
    throw new BenchError('E_BENCH_TARGET', `--target full needs every server: ${missing.join('; ')}`, {
      context: { missing },
    })
  }
  const kind = postgres ? 'postgres' : 'embedded'
  const ran = [
    postgres ? 'PostgreSQL' : 'PGlite',
    ...(redis ? [] : ['Redis']),
    ...(nats ? [] : ['JetStream']),
  ]
  return { kind, postgres, ...services, fallback: `${missing.join('; ')}: ran on ${ran.join(' + ')}` }
}

/** The `HF_*` variables that point the app at the stack's Redis and broker, in its own namespace. */
export function stackEnv(stack: AppStack, namespace: string): Record<string, string> {
  return {
    ...(stack.redisUrl ? { HF_REDIS_URL: stack.redisUrl } : {}),
    ...(stack.natsUrl ? { HF_NATS_URL: stack.natsUrl, HF_QUEUE: 'on' } : {}),
    ...(stack.redisUrl || stack.natsUrl ? { HF_NAMESPACE: namespace } : {}),
  }
}

/**
 * Waits until the app's write queue has no unconsumed posts or follows (after loading the dataset, so the
 * first step does not measure the backlog). Gives up after `timeoutMs`, saying so in the log.
 */
export async function settleQueue(
  stack: AppStack,
  namespace: string,
  options: { timeoutMs: number; log: (line: string) => void },
  signal: AbortSignal,
): Promise<void> {
  if (!stack.natsUrl) return
  await withClients({ natsUrl: stack.natsUrl }, async (queue) => {
    const consumers = [
      [postsStream(namespace), TIMELINE_CONSUMER],
      [followsStream(namespace), EDGES_CONSUMER],
    ] as const
    const started = performance.now()
    const outcome = await waitForDrain(
      queue!,
      consumers,
      { everyMs: 200, timeoutMs: options.timeoutMs },
      signal,
    ).catch((error: unknown) => {
      if (signal.aborted) throw error
      options.log(`cannot read the write queue's backlog (${(error as Error).message}); measuring anyway`)
      return undefined
    })
    if (!outcome) return
    const seconds = Math.round(outcome.at - started) / 1000
    options.log(
      outcome.drained
        ? `write queue drained in ${seconds} s (backlog peak ${outcome.peak})`
        : `write queue still not drained after ${seconds} s (backlog peak ${outcome.peak}); measuring anyway`,
    )
  })
}

/** Deletes the run's streams and Redis keys; best effort. */
export async function cleanUpStack(stack: AppStack, namespace: string): Promise<void> {
  if (!stack.redisUrl && !stack.natsUrl) return
  await withClients(stack, (queue, redis) => cleanUpNamespace(queue, redis, namespace)).catch(() => {})
}

async function withClients<T>(
  servers: { natsUrl?: string; redisUrl?: string },
  fn: (queue: Queue | undefined, redis: Redis | undefined) => Promise<T>,
): Promise<T> {
  const queue = servers.natsUrl
    ? createQueue({
        // One server or a cluster's, comma-separated (`npm run stack -- --ha`), as the app takes them.
        driver: jetstreamDriver({ servers: natsServers(servers.natsUrl), name: 'bench' }),
      })
    : undefined
  const redis = servers.redisUrl ? new Redis(servers.redisUrl, { maxRetriesPerRequest: 2 }) : undefined
  redis?.on('error', () => {}) // each command's caller gets its error
  try {
    return await fn(queue, redis)
  } finally {
    await queue?.drain().catch(() => {})
    await redis?.quit().catch(() => redis.disconnect())
  }
}

/** `HF_NATS_URL` as the NATS client's server list: `nats://a:1,nats://b:2` → `['nats://a:1', 'nats://b:2']`. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
}

function redactUrl(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}
