import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchError } from '../errors.js'
import { APP_ENTRY, SYNTHETIC_ENTRY } from '../paths.js'
import { databaseUrl, dropDatabase, postgresReachable, recreateDatabase } from './postgres-db.js'
import { type SpawnedServer, spawnServer } from './spawn-server.js'

/** Where a suite sends its load. */
export interface Target extends AsyncDisposable {
  /** `embedded` (app on PGlite), `postgres` (app on PostgreSQL), `synthetic` (the kit's stand-in) or `url`. */
  kind: 'embedded' | 'postgres' | 'synthetic' | 'url'
  baseUrl: string
  /** The server's pid when the kit started it, for its CPU use. */
  pid?: number
  /** True when the kit started it empty, so the dataset must be loaded. */
  fresh: boolean
  /** The server's last output lines when the kit started it, for diagnosing failures. */
  tail(): string
}

/** Options that choose and start a target. */
export interface TargetOptions {
  /** `auto`, `embedded`, `postgres`, `synthetic` or a base URL such as `http://127.0.0.1:8080`. */
  target: string
  /** PostgreSQL server for `postgres` (the database name in it is replaced by `database`). */
  postgresUrl: string
  /** Database created afresh for the run and dropped after it. */
  database: string
  /** CPUs for the server process (`taskset -c`), e.g. `1`; unset = no pinning. */
  serverCpus?: string
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
}

/**
 * Resolves `--target`: starts the app (or the synthetic server) as a child process, or points at a URL.
 * `auto` picks `postgres` when a server answers at `postgresUrl`, else `embedded`.
 *
 * @example
 * await using target = await openTarget({ target: 'embedded', postgresUrl, database: 'hf_bench' }, signal, log)
 */
export async function openTarget(
  options: TargetOptions,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<Target> {
  let kind = options.target
  if (kind === 'auto') {
    kind = (await postgresReachable(options.postgresUrl)) ? 'postgres' : 'embedded'
    log(`target auto → ${kind}`)
  }
  const pin = options.serverCpus === undefined ? {} : { cpus: options.serverCpus }
  if (kind === 'embedded') {
    requireBuilt(APP_ENTRY, 'the app')
    const dataDir = await mkdtemp(join(tmpdir(), 'hf-bench-'))
    const server = await spawnServer(
      { entry: APP_ENTRY, env: { ...APP_ENV, HF_DATA_DIR: dataDir }, ...pin },
      signal,
    )
    return spawned('embedded', server, async () => {
      await rm(dataDir, { recursive: true, force: true })
    })
  }
  if (kind === 'postgres') {
    requireBuilt(APP_ENTRY, 'the app')
    await recreateDatabase(options.postgresUrl, options.database, signal)
    const env = { ...APP_ENV, HF_DATABASE_URL: databaseUrl(options.postgresUrl, options.database) }
    const server = await spawnServer({ entry: APP_ENTRY, env, ...pin }, signal).catch(
      async (error: unknown) => {
        await dropDatabase(options.postgresUrl, options.database)
        throw error
      },
    )
    return spawned('postgres', server, () => dropDatabase(options.postgresUrl, options.database))
  }
  if (kind === 'synthetic') {
    requireBuilt(SYNTHETIC_ENTRY, 'the synthetic server')
    return spawned('synthetic', await spawnServer({ entry: SYNTHETIC_ENTRY, env: APP_ENV, ...pin }, signal))
  }
  let url: URL
  try {
    url = new URL(kind)
  } catch {
    throw new BenchError(
      'E_BENCH_OPTION',
      'options.target must be auto, embedded, postgres, synthetic or an http URL',
      {
        context: { target: options.target },
      },
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BenchError('E_BENCH_OPTION', 'options.target URL must be http or https', {
      context: { target: kind },
    })
  }
  return { kind: 'url', baseUrl: url.origin, fresh: false, tail: () => '', async [Symbol.asyncDispose]() {} }
}

function spawned(kind: Target['kind'], server: SpawnedServer, after?: () => Promise<void>): Target {
  return {
    kind,
    baseUrl: server.baseUrl,
    pid: server.pid,
    fresh: true,
    tail: server.tail,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]()
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
