import { PgError } from '@hundredfold/pg'
import { abortedError, ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import type { ConnectShard } from '../router/router-options.js'

/** A physical database that was (or, in a dry run, would be) created. */
export interface CreatedDatabase {
  readonly server: string
  readonly database: string
}

/** Options of {@link createDatabases}. */
export interface CreateDatabasesOptions {
  signal?: AbortSignal
  /** Only say which databases are missing. @default false */
  dryRun?: boolean
  /** The database to connect to on each server to run `CREATE DATABASE`. @default 'postgres' */
  adminDatabase?: string
}

/**
 * Creates the map's databases that do not exist yet on their servers (`CREATE DATABASE`, one at a
 * time per server: PostgreSQL copies `template1` and refuses concurrent copies of it). Safe to run
 * concurrently with itself: a database another run just made is taken as made.
 *
 * @example
 * const created = await createDatabases(map, router.connect, { signal })
 */
export async function createDatabases(
  map: ShardMap,
  connect: ConnectShard,
  options: CreateDatabasesOptions = {},
): Promise<CreatedDatabase[]> {
  const { signal } = options
  const admin = options.adminDatabase ?? 'postgres'
  const created: CreatedDatabase[] = []
  for (const server of map.servers) {
    if (signal?.aborted) throw abortedError(signal)
    const wanted = map.databases.filter((d) => d.server.name === server.name).map((d) => d.name)
    if (wanted.length === 0) continue
    const cluster = connect(server, admin)
    try {
      const { rows } = await cluster.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname = ANY($1::text[])',
        [wanted],
        { signal },
      )
      const existing = new Set(rows.map((r) => r.datname))
      for (const database of wanted) {
        if (existing.has(database)) continue
        if (!options.dryRun) await createOne(cluster, database, server.name, signal)
        created.push({ server: server.name, database })
      }
    } finally {
      await cluster.end()
    }
  }
  return created
}

async function createOne(
  cluster: ReturnType<ConnectShard>,
  database: string,
  server: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    // The name is a validated lowercase identifier: no quoting needed, none possible to inject.
    await cluster.query(`CREATE DATABASE ${database}`, [], { signal })
  } catch (err) {
    if (err instanceof PgError && err.sqlState === '42P04') return // duplicate_database: made meanwhile
    if (signal?.aborted) throw abortedError(signal)
    throw new ShardError(
      'E_MIGRATION_FAILED',
      `CREATE DATABASE ${database} on server ${server} failed: ${(err as Error).message}`,
      { database, ...(err instanceof PgError && err.sqlState ? { sqlState: err.sqlState } : {}) },
      { cause: err },
    )
  }
}
