import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchError } from '../errors.js'
import { APP_ENTRY, SYNTHETIC_ENTRY } from '../paths.js'
import type { TargetRecord } from '../results.js'
import { describeApp, effectiveAppEnv } from './app-record.js'
import { type AppStack, cleanUpStack, resolveAppStack, settleQueue, stackEnv } from './app-stack.js'
import {
  appProcesses,
  appTail,
  type ConsumerLayout,
  type SpawnedApp,
  spawnAppProcesses,
} from './consumer-process.js'
import { databaseUrl, dropDatabase, recreateDatabase } from './postgres-db.js'
import { spawnServer } from './spawn-server.js'
import { openStackTarget } from './stack-target.js'

/** Where a suite sends its load. */
export interface Target extends AsyncDisposable {
  /**
   * `full` (the app on PostgreSQL + Redis + JetStream, queue on), `postgres` / `embedded` (the app on that
   * database, with whatever `summary.stores` lists), `stack` (nginx in front of the app processes of
   * `npm run stack`), `synthetic` (the kit's stand-in) or `url`.
   */
  kind: 'full' | 'embedded' | 'postgres' | 'stack' | 'synthetic' | 'url'
  baseUrl: string
  /** The server's pid when the kit started it, for its CPU use. */
  pid?: number
  /** Every server process the kit started (one per app process); empty for a URL. */
  pids: readonly number[]
  /** The app's consumer processes the kit started apart from `pids` (`--consumers process`); else empty. */
  consumerPids: readonly number[]
  /** What ran, as recorded in results (`target`). */
  summary: TargetRecord
  /** True when the kit started it empty, so the dataset must be loaded. */
  fresh: boolean
  /** Waits until work the app queued while loading is done (the write queue drained); no-op otherwise. */
  settle(signal: AbortSignal, log: (line: string) => void): Promise<void>
  /** The server's last output lines when the kit started it, for diagnosing failures. */
  tail(): string
}

/** Options that choose and start a target. */
export interface TargetOptions {
  /** `auto`, `full`, `embedded`, `postgres`, `stack`, `synthetic` or a base URL such as `http://127.0.0.1:8080`. */
  target: string
  /** PostgreSQL server for `postgres` and `full` (the database name in it is replaced by `database`). */
  postgresUrl: string
  /** Redis of `full`: the cache's shared tier and the home timelines. */
  redisUrl: string
  /** JetStream broker of `full`: the write queue. */
  natsUrl: string
  /** Database created afresh for the run and dropped after it. */
  database: string
  /** CPUs for the server process (`taskset -c`), e.g. `1`; unset = no pinning. */
  serverCpus?: string
  /** Where the write queue's consumers run when the queue is on. @default 'process' */
  consumers?: ConsumerLayout
  /** `HF_*` settings of the app the kit starts, over its own (a drill comparing two configurations). */
  env?: Readonly<Record<string, string>>
}

/**
 * The environment the app needs to serve the bench: DeathStarBench surface and ceiling route on, and request
 * logging down to warnings (as in production) unless HF_LOG_LEVEL says otherwise.
 */
export const APP_ENV = {
  HF_PORT: '0',
  HF_HOST: '127.0.0.1',
  HF_WRK2_API: 'on',
  HF_CEILING_ROUTE: 'on',
  HF_LOG_LEVEL: process.env['HF_LOG_LEVEL'] ?? 'warn',
  // Loading signs every dataset user up and in from this one address.
  HF_LOGIN_LIMIT_IP: 'off',
  HF_REGISTER_LIMIT_IP: 'off',
  // As `npm run stack` runs the app: shedding on event-loop delay as well as on the concurrency limit.
  HF_GUARD_MAX_LOOP_DELAY_MS: '15',
}

/** How long `settle` waits for the write queue after loading. */
const SETTLE_TIMEOUT_MS = 300_000

/**
 * Resolves `--target`: starts the app (or the synthetic server) as a child process, or points at a URL.
 * `auto` runs the full system (PostgreSQL + Redis + JetStream, queue on) when all three answer, else what
 * answers, and logs what it fell back to.
 *
 * @example
 * await using target = await openTarget({ ...options, target: 'embedded' }, signal, log)
 */
export async function openTarget(
  options: TargetOptions,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<Target> {
  const pin = options.serverCpus === undefined ? {} : { cpus: options.serverCpus }
  if (options.target === 'stack') return openStackTarget({ log })
  const stack = await resolveAppStack(options, signal)
  if (stack) {
    if (options.target === 'auto') {
      log(`target auto → ${stack.kind}${stack.fallback ? ` (fell back: ${stack.fallback})` : ''}`)
    }
    return openApp(stack, options, signal)
  }
  if (options.target === 'synthetic') {
    requireBuilt(SYNTHETIC_ENTRY, 'the synthetic server')
    const server = await spawnServer({ entry: SYNTHETIC_ENTRY, env: APP_ENV, ...pin }, signal)
    return spawned(
      { kind: 'synthetic', base_url: server.baseUrl, app_processes: 1 },
      { server, consumers: undefined },
    )
  }
  let url: URL
  try {
    url = new URL(options.target)
  } catch {
    throw new BenchError(
      'E_BENCH_OPTION',
      'options.target must be auto, full, embedded, postgres, stack, synthetic or an http URL',
      { context: { target: options.target } },
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BenchError('E_BENCH_OPTION', 'options.target URL must be http or https', {
      context: { target: options.target },
    })
  }
  return {
    kind: 'url',
    baseUrl: url.origin,
    pids: [],
    consumerPids: [],
    summary: { kind: 'url', base_url: url.origin },
    fresh: false,
    settle: async () => {},
    tail: () => '',
    async [Symbol.asyncDispose]() {},
  }
}

/** Starts the microblog on the stack's database, Redis and broker; everything is removed after the run. */
async function openApp(stack: AppStack, options: TargetOptions, signal: AbortSignal): Promise<Target> {
  requireBuilt(APP_ENTRY, 'the app')
  const namespace = `bench_${process.pid}`
  let database: Record<string, string>
  let removeDatabase: () => Promise<void>
  if (stack.postgres) {
    await recreateDatabase(options.postgresUrl, options.database, signal)
    database = { HF_DATABASE_URL: databaseUrl(options.postgresUrl, options.database) }
    removeDatabase = () => dropDatabase(options.postgresUrl, options.database)
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'hf-bench-'))
    database = { HF_DATA_DIR: dataDir }
    removeDatabase = () => rm(dataDir, { recursive: true, force: true })
  }
  return startApp(
    {
      stack,
      env: { ...database, ...stackEnv(stack, namespace), ...options.env },
      namespace,
      ...(options.serverCpus === undefined ? {} : { serverCpus: options.serverCpus }),
      ...(options.consumers === undefined ? {} : { consumers: options.consumers }),
      after: removeDatabase,
    },
    signal,
  )
}

/** How `startApp` starts the microblog. */
export interface AppLaunch {
  /** The servers besides the database: its Redis and broker, for `settle` and the cleanup after. */
  stack: AppStack
  /** `HF_*` over `APP_ENV`: the database and whatever the run configures (an empty value unsets one). */
  env: Readonly<Record<string, string>>
  /** The `HF_NAMESPACE` of the run, whose streams and Redis keys are deleted after it. */
  namespace: string
  /** CPUs for the server process (`taskset -c`); unset = no pinning. */
  serverCpus?: string
  /** Where the write queue's consumers run when the queue is on. @default 'process' */
  consumers?: ConsumerLayout
  /** Runs after the server stopped and the namespace was cleaned up, e.g. to drop the database. */
  after?: () => Promise<void>
}

/**
 * Starts the microblog with `launch.env` on a database that already exists; on dispose, stops it, deletes
 * the namespace's streams and Redis keys and runs `launch.after`. `openTarget` starts the app this way,
 * and so does a suite that needs the app in its own configuration (the `stages` suite).
 *
 * @example
 * await using target = await startApp({ stack, env: { HF_DATABASE_URL: url, HF_CACHE: 'off' }, namespace }, signal)
 */
export async function startApp(launch: AppLaunch, signal: AbortSignal): Promise<Target> {
  requireBuilt(APP_ENTRY, 'the app')
  const after = async (): Promise<void> => {
    await cleanUpStack(launch.stack, launch.namespace)
    await launch.after?.()
  }
  const env = { ...APP_ENV, ...launch.env }
  const pin = launch.serverCpus === undefined ? {} : { cpus: launch.serverCpus }
  const effective = effectiveAppEnv(env)
  const layout = appProcesses(env, effective, launch.consumers ?? 'process')
  const app = await spawnAppProcesses(layout, pin, signal).catch(async (error: unknown) => {
    await after()
    throw error
  })
  const { server, consumers } = app
  const summary: TargetRecord = {
    kind: launch.stack.kind,
    base_url: server.baseUrl,
    ...describeApp(effective),
    app_processes: consumers ? 2 : 1,
    ...(consumers ? { consumer_processes: 1 } : {}),
    ...(launch.stack.fallback ? { fallback: launch.stack.fallback } : {}),
  }
  const settle = (settleSignal: AbortSignal, log: (line: string) => void): Promise<void> =>
    settleQueue(launch.stack, launch.namespace, { timeoutMs: SETTLE_TIMEOUT_MS, log }, settleSignal)
  return spawned(summary, app, after, settle)
}

function spawned(
  summary: TargetRecord,
  app: SpawnedApp,
  after?: () => Promise<void>,
  settle?: Target['settle'],
): Target {
  const { server, consumers } = app
  return {
    kind: summary.kind as Target['kind'],
    baseUrl: server.baseUrl,
    pid: server.pid,
    pids: [server.pid],
    consumerPids: consumers ? [consumers.pid] : [],
    summary,
    fresh: true,
    settle: settle ?? (async () => {}),
    tail: () => appTail(app),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]()
      await consumers?.[Symbol.asyncDispose]()
      await after?.()
    },
  }
}

function requireBuilt(entry: string, what: string): void {
  if (!existsSync(entry)) {
    throw new BenchError(
      'E_BENCH_TARGET',
      `${what} is not built (${entry} missing): run npm run build first`,
      {
        context: { entry },
      },
    )
  }
}
