import { setTimeout as sleep } from 'node:timers/promises'
import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import { BenchError } from '../../errors.js'
import { maskUrlPassword } from '../../target/app-record.js'
import { databaseUrl, dropDatabase, recreateDatabase } from '../../target/postgres-db.js'
import type { StageDefinition } from './stage-ladder.js'
import { PG_BIN_DIR, type StoreAvailability } from './stage-stores.js'

/** The PostgreSQL a stage runs on, with an empty database; removed on dispose. */
export interface StageDatabase extends AsyncDisposable {
  /** The primary's database. */
  databaseUrl: string
  /** Each replica's copy of it. */
  replicaUrls: string[]
  /** Which server it is, for results: `started` by the suite, or the `--postgres-url` server. */
  server: 'started' | 'postgres-url'
  /** The primary's settings that decide its write cost, as the server reports them. */
  settings: Record<string, string>
}

/** Read back from the primary, so the results say what the server really ran with. */
const REPORTED = ['fsync', 'full_page_writes', 'synchronous_commit', 'shared_buffers', 'max_connections']

/**
 * A fresh database for one stage. When the PostgreSQL binaries are there, every stage gets servers of its
 * own, started alike (`startReplicaSet`: a primary plus the stage's replicas, on free ports), so the
 * stages differ only in what they add; fsync and full-page writes are turned back on, so a commit costs
 * what it costs in a deployment. Without the binaries, a stage on the primary alone runs on a database
 * recreated on `--postgres-url`.
 *
 * @example
 * await using db = await openStageDatabase(stage, options, stores, signal, log)
 */
export async function openStageDatabase(
  stage: StageDefinition,
  options: { postgresUrl: string; database: string },
  stores: StoreAvailability,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<StageDatabase> {
  if (stores.servers === undefined) {
    log(`starting PostgreSQL${stage.replicas > 0 ? ` with ${stage.replicas} streaming replicas` : ''}`)
    const set = await startReplicaSet({ replicas: stage.replicas, binDir: PG_BIN_DIR })
    try {
      for (const server of set.servers) {
        await set.sql(server, 'ALTER SYSTEM SET fsync = on')
        await set.sql(server, 'ALTER SYSTEM SET full_page_writes = on')
        await set.sql(server, 'SELECT pg_reload_conf()')
      }
      await recreateDatabase(set.primary.url, options.database, signal)
      await waitForDatabase(set, options.database, signal)
      return {
        databaseUrl: databaseUrl(set.primary.url, options.database),
        replicaUrls: set.replicas.map((replica) => databaseUrl(replica.url, options.database)),
        server: 'started',
        settings: await reportedSettings(set),
        [Symbol.asyncDispose]: () => set.destroy(),
      }
    } catch (error) {
      await set.destroy()
      throw error
    }
  }
  if (stage.replicas > 0) {
    throw new BenchError('E_BENCH_TARGET', `stage ${stage.name} needs replicas: ${stores.servers}`)
  }
  log(`no PostgreSQL servers of its own (${stores.servers}): on ${maskUrlPassword(options.postgresUrl)}`)
  await recreateDatabase(options.postgresUrl, options.database, signal)
  return {
    databaseUrl: databaseUrl(options.postgresUrl, options.database),
    replicaUrls: [],
    server: 'postgres-url',
    settings: {},
    [Symbol.asyncDispose]: () => dropDatabase(options.postgresUrl, options.database),
  }
}

/** Waits until every replica has replayed the new database, so the app can connect to it at start. */
async function waitForDatabase(set: ReplicaSet, database: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 30_000
  for (const replica of set.replicas) {
    for (;;) {
      const rows = await set.sql(replica, 'SELECT 1 FROM pg_database WHERE datname = $1', [database])
      if (rows.length > 0) break
      if (Date.now() > deadline) {
        throw new BenchError('E_BENCH_TARGET', `${replica.name} did not replay database ${database} in 30 s`)
      }
      await sleep(100, undefined, { signal })
    }
  }
}

async function reportedSettings(set: ReplicaSet): Promise<Record<string, string>> {
  const rows = await set.sql<{ name: string; value: string }>(
    set.primary,
    'SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1) ORDER BY name',
    [REPORTED],
  )
  return Object.fromEntries(rows.map((row) => [row.name, row.value]))
}
