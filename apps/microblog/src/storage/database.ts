import { mkdir } from 'node:fs/promises'
import { type Cluster, createCluster, PgError } from '@hundredfold/pg'
import type { MicroblogConfig } from '../config.js'
import { type GeoDialect, schemaSql } from './schema.js'
import { singleStore } from './single-store.js'
import type { Store } from './store.js'

/** The opened database and what it can do. */
export interface Database {
  /** Where the services' rows live: the one database, or the shards. */
  store: Store
  /**
   * The database of this deployment's own records (worker-id leases, health): the one database, or
   * database 0 of the shard map.
   */
  cluster: Cluster
  geo: GeoDialect
  /** 'pglite', the server's host:port/database, or the shard map's layout. */
  description: string
  /** Background upkeep the server would do itself (PGlite has no autovacuum); stop it before closing. */
  maintain?: { stop(): void }
  /** Closes every session (and, sharded, leaves the shard map's switches). */
  end(): Promise<void>
}

/**
 * PGlite runs no autovacuum, so its planner never learns table sizes and picks sequential scans as
 * tables grow. Re-run ANALYZE every minute (it holds the one session for a few milliseconds).
 */
function analyzer(cluster: Cluster): { stop(): void } {
  const timer = setInterval(() => {
    cluster.exec('ANALYZE').catch(() => {})
  }, 60_000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/** A start-up failure the operator can fix (`E_POSTGIS_MISSING`, `E_SHARD_MAP`), with its cause. */
export class StartupError extends Error {
  override readonly name = 'StartupError'
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/**
 * Opens PostgreSQL (`HF_DATABASE_URL`, or the members of `HF_DATABASE_HOSTS`) or PGlite under `HF_DATA_DIR`, and applies the schema.
 * The schema is idempotent, so every process may apply it at start.
 */
export async function openDatabase(config: MicroblogConfig, signal?: AbortSignal): Promise<Database> {
  if (config.shardMap) {
    const { openShardedDatabase } = await import('./sharded-database.js')
    return openShardedDatabase(config, config.shardMap, signal)
  }
  if (config.databaseUrl || config.databaseHosts.length > 0) {
    const { pgDriver } = await import('@hundredfold/pg/node-postgres')
    const pool = { max: config.dbPoolMax }
    // The server stops a statement past the deadline itself, even if this process is gone.
    const server = (connectionString: string) =>
      pgDriver({ connectionString, statementTimeoutMs: config.dbStatementTimeoutMs })
    const routing = { maxLagMs: config.maxLagMs }
    const cluster =
      config.databaseHosts.length > 0
        ? createCluster({ hosts: config.databaseHosts.map(server), pool, routing })
        : config.replicaUrls.length === 0
          ? createCluster({ driver: server(config.databaseUrl!), pool })
          : createCluster({
              primary: server(config.databaseUrl!),
              replicas: config.replicaUrls.map(server),
              pool,
              routing,
            })
    await cluster.ready()
    const hosts = cluster.stats().hosts.map((h) => h.host)
    const description = hosts.length === 1 ? hosts[0]! : `${hosts[0]} + replicas ${hosts.slice(1).join(', ')}`
    try {
      await migrate(cluster, 'postgis', signal)
    } catch (err) {
      await cluster.end()
      if (err instanceof PgError && err.sqlState === '0A000') {
        throw new StartupError(
          'E_POSTGIS_MISSING',
          `PostGIS is not installed on ${description}: install it (Debian: apt-get install postgresql-15-postgis-3)`,
          { cause: err },
        )
      }
      throw err
    }
    return { store: singleStore(cluster), cluster, geo: 'postgis', description, end: () => cluster.end() }
  }
  await mkdir(config.dataDir, { recursive: true })
  const [{ pgliteDriver }, { cube }, { earthdistance }] = await Promise.all([
    import('@hundredfold/pg/pglite'),
    import('@electric-sql/pglite/contrib/cube'),
    import('@electric-sql/pglite/contrib/earthdistance'),
  ])
  const cluster = createCluster({
    driver: pgliteDriver({ dataDir: config.dataDir, extensions: { cube, earthdistance } }),
  })
  try {
    await migrate(cluster, 'earthdistance', signal)
    await cluster.exec('ANALYZE', signal ? { signal } : {})
  } catch (err) {
    await cluster.end()
    throw err
  }
  return {
    store: singleStore(cluster),
    cluster,
    geo: 'earthdistance',
    description: `pglite:${config.dataDir}`,
    maintain: analyzer(cluster),
    end: () => cluster.end(),
  }
}

async function migrate(cluster: Cluster, geo: GeoDialect, signal?: AbortSignal): Promise<void> {
  // Concurrent starts against one server: serialise DDL with an advisory lock held by the transaction.
  await cluster.transaction(
    async (tx) => {
      // DDL may wait for the lock and for CREATE EXTENSION: not bounded by the statement timeout.
      if (geo === 'postgis') await tx.query('SET LOCAL statement_timeout = 0')
      await tx.query('SELECT pg_advisory_xact_lock(7210001)')
      for (const statement of splitStatements(schemaSql(geo))) await tx.query(statement)
    },
    signal ? { signal } : {},
  )
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}
