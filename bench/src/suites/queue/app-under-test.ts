import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchError } from '../../errors.js'
import type { BenchOptions } from '../../options.js'
import { APP_ENTRY } from '../../paths.js'
import { effectiveAppEnv, recordableSettings } from '../../target/app-record.js'
import { appProcesses, appTail, spawnAppProcesses } from '../../target/consumer-process.js'
import { databaseUrl, dropDatabase, postgresReachable, recreateDatabase } from '../../target/postgres-db.js'
import { APP_ENV } from '../../target/target.js'

/**
 * One database for the whole queue run, on which the app is started once per write path (synchronous,
 * then queued): the graph is loaded once and both servers see the same data. It is the `--target
 * postgres` (or `embedded`) machinery of `target/target.ts`, split so the app can be restarted on the
 * same database with another environment.
 */
export interface AppDatabase extends AsyncDisposable {
  kind: 'postgres' | 'embedded'
  /** The `HF_*` variables that point the app at this database. */
  env: Readonly<Record<string, string>>
}

/** A running app: where it listens, its pid, and the `HF_*` environment it was given. */
export interface AppServer extends AsyncDisposable {
  baseUrl: string
  pid: number
  /** The pid of its consumer process, when the consumers run apart (`--consumers process`). */
  consumerPid?: number
  env: Readonly<Record<string, string>>
  tail(): string
}

/**
 * Recreates `options.database` on PostgreSQL (`--target postgres` or `full`, or `auto` when it answers) or makes a
 * PGlite folder (`embedded`); undefined for targets the suite cannot restart (a URL, `synthetic`).
 *
 * @example
 * await using db = await openAppDatabase(options, signal, log)
 */
export async function openAppDatabase(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<AppDatabase | undefined> {
  let kind = options.target
  if (kind === 'auto') {
    kind = (await postgresReachable(options.postgresUrl)) ? 'postgres' : 'embedded'
    log(`target auto → ${kind}`)
  }
  // The write path brings its own Redis and broker: `full` is PostgreSQL here.
  if (kind === 'full') kind = 'postgres'
  if (kind !== 'postgres' && kind !== 'embedded') return undefined
  if (!existsSync(APP_ENTRY)) {
    throw new BenchError('E_BENCH_TARGET', `the app is not built (${APP_ENTRY} missing): run npm run build`, {
      context: { entry: APP_ENTRY },
    })
  }
  if (kind === 'postgres') {
    await recreateDatabase(options.postgresUrl, options.database, signal)
    return {
      kind,
      env: { HF_DATABASE_URL: databaseUrl(options.postgresUrl, options.database) },
      async [Symbol.asyncDispose]() {
        await dropDatabase(options.postgresUrl, options.database)
      },
    }
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'hf-bench-queue-'))
  return {
    kind,
    env: { HF_DATA_DIR: dataDir },
    async [Symbol.asyncDispose]() {
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Starts the app on `database` with `env` added to the bench's usual environment; with the queue on and
 * `--consumers process`, its consumers in a process of their own at a lower priority (`env` records the
 * front's).
 *
 * @example
 * await using server = await spawnApp(db, { HF_QUEUE: 'off' }, options, signal)
 */
export async function spawnApp(
  database: AppDatabase,
  env: Readonly<Record<string, string>>,
  options: Pick<BenchOptions, 'serverCpus'> & Partial<Pick<BenchOptions, 'consumers'>>,
  signal: AbortSignal,
): Promise<AppServer> {
  const pin = options.serverCpus === undefined ? {} : { cpus: options.serverCpus }
  const layout = appProcesses(
    { ...APP_ENV, ...database.env, ...env },
    effectiveAppEnv({ ...database.env, ...env }),
    options.consumers ?? 'process',
  )
  const full = layout.front
  const app = await spawnAppProcesses(layout, pin, signal)
  const { server, consumers } = app
  // spawnServer passes the bench's own environment on too: record the HF_* the server really got.
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[0].startsWith('HF_') && entry[1] !== undefined,
  )
  return {
    baseUrl: server.baseUrl,
    pid: server.pid,
    ...(consumers ? { consumerPid: consumers.pid } : {}),
    env: { ...Object.fromEntries(inherited), ...full },
    tail: () => appTail(app),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]()
      await consumers?.[Symbol.asyncDispose]()
    },
  }
}

/** The environment as recorded in results: every `HF_*` the server got, secrets left out, passwords masked. */
export const recordableEnv = recordableSettings
