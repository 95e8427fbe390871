import { type Cluster, PgError } from '@hundredfold/pg'
import { abortedError, ShardError } from '../errors.js'

/**
 * The record table in every physical database: which migration was applied to which physical table.
 *
 * @example
 * const { rows } = await router.cluster(0).query('SELECT name, count(*) FROM hf_shard_migrations GROUP BY name')
 */
export const migrationTableSql = `CREATE TABLE IF NOT EXISTS hf_shard_migrations (
  name text NOT NULL,
  physical_table text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, physical_table)
)`

/** Serialises migrations of one database across processes (two deploys at once). @internal */
export const migrationLockSql = "SELECT pg_advisory_xact_lock(hashtext('hf_shard_migrations'))"

/** What one database has applied: `name`, NUL, `physical_table` per record, and the physical tables seen. @internal */
export interface DatabaseRecords {
  readonly applied: Set<string>
  readonly physical: Set<string>
}

/** The key of one record. @internal */
export function recordKey(migration: string, physicalTable: string): string {
  return `${migration}\u0000${physicalTable}`
}

/** Reads a database's records; none when the record table does not exist yet. @internal */
export async function readRecords(
  cluster: Cluster,
  database: string,
  signal: AbortSignal | undefined,
): Promise<DatabaseRecords> {
  try {
    return await read(cluster, signal)
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal)
    const sqlState = err instanceof PgError ? err.sqlState : undefined
    throw new ShardError(
      'E_SHARD_QUERY',
      `reading hf_shard_migrations of ${database} failed: ${(err as Error)?.message ?? String(err)}`,
      { database, ...(sqlState ? { sqlState } : {}) },
      { cause: err },
    )
  }
}

async function read(cluster: Cluster, signal: AbortSignal | undefined): Promise<DatabaseRecords> {
  const records: DatabaseRecords = { applied: new Set(), physical: new Set() }
  const { rows: found } = await cluster.query<{ t: string | null }>(
    "SELECT to_regclass('hf_shard_migrations')::text AS t",
    [],
    { signal },
  )
  if (!found[0]?.t) return records
  const { rows } = await cluster.query<{ name: string; physical_table: string }>(
    'SELECT name, physical_table FROM hf_shard_migrations',
    [],
    { signal },
  )
  for (const row of rows) noteRecord(records, row.name, row.physical_table)
  return records
}

/** Adds a record to what a database is known to have. @internal */
export function noteRecord(records: DatabaseRecords, migration: string, physicalTable: string): void {
  records.applied.add(recordKey(migration, physicalTable))
  if (physicalTable !== '') records.physical.add(physicalTable)
}
