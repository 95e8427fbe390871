import { readFile } from 'node:fs/promises'
import { abortedError, ShardError } from '../errors.js'
import { parseShardMap, type ShardMap } from './shard-map.js'

/** The subset of `@hundredfold/pg`'s `Cluster` (or anything alike) the map store uses. */
export interface PgQueryable {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: { signal?: AbortSignal | undefined },
  ): Promise<{ rows: Row[]; rowCount: number }>
}

/**
 * The table of stored maps: one row per version, the newest wins. `saveShardMap` creates it.
 *
 * @example
 * await controlCluster.query(shardMapTableSql)
 */
export const shardMapTableSql = `CREATE TABLE IF NOT EXISTS hf_shard_map (
  version int PRIMARY KEY,
  document jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`

/**
 * Reads and parses a shard map file.
 *
 * @throws {ShardError} `E_INVALID_MAP` (its `path` names the field), or the file system's error.
 * @example
 * const map = await loadShardMapFile('./shard-map.json')
 */
export async function loadShardMapFile(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<ShardMap> {
  const text = await readFile(path, {
    encoding: 'utf8',
    ...(options.signal ? { signal: options.signal } : {}),
  })
  return parseShardMap(text)
}

/**
 * The newest map stored in `hf_shard_map` (highest `version`).
 *
 * @throws {ShardError} `E_INVALID_MAP` when the table is empty or missing, or its newest document is invalid.
 * @example
 * const map = await loadShardMap(controlCluster, { signal })
 */
export async function loadShardMap(
  db: PgQueryable,
  options: { signal?: AbortSignal } = {},
): Promise<ShardMap> {
  const { signal } = options
  if (signal?.aborted) throw abortedError(signal)
  const exists = await db.query<{ found: string | null }>(
    "SELECT to_regclass('hf_shard_map')::text AS found",
    [],
    { signal },
  )
  if (!exists.rows[0]?.found) {
    throw new ShardError('E_INVALID_MAP', 'there is no hf_shard_map table: store a map with saveShardMap()', {
      path: '',
    })
  }
  const { rows } = await db.query<{ version: number; document: unknown }>(
    'SELECT version, document FROM hf_shard_map ORDER BY version DESC LIMIT 1',
    [],
    { signal },
  )
  const row = rows[0]
  if (!row) throw new ShardError('E_INVALID_MAP', 'hf_shard_map holds no map', { path: '' })
  const map = parseShardMap(row.document)
  if (map.version !== row.version) {
    throw new ShardError(
      'E_INVALID_MAP',
      `the document of hf_shard_map row ${row.version} says version ${map.version}`,
      { path: 'version', value: map.version },
    )
  }
  return map
}

/**
 * Stores a map as a new row of `hf_shard_map` (creating the table if needed). Its version must be
 * above every stored one, so two writers cannot both think they published the newest map.
 *
 * @throws {ShardError} `E_INVALID_MAP` (`path: 'version'`) when a map of that version or newer is stored.
 * @example
 * await saveShardMap(controlCluster, parseShardMap({ ...map.toJSON(), version: map.version + 1 }))
 */
export async function saveShardMap(
  db: PgQueryable,
  map: ShardMap,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options
  if (signal?.aborted) throw abortedError(signal)
  await db.query(shardMapTableSql, [], { signal })
  // Refused when a stored version is as new; two writers of one version meet at the primary key.
  const { rowCount } = await db.query(
    `INSERT INTO hf_shard_map (version, document)
     SELECT $1, $2::jsonb WHERE NOT EXISTS (SELECT 1 FROM hf_shard_map WHERE version >= $1)
     ON CONFLICT (version) DO NOTHING`,
    [map.version, JSON.stringify(map.toJSON())],
    { signal },
  )
  if (rowCount !== 1) {
    throw new ShardError(
      'E_INVALID_MAP',
      `a shard map of version ${map.version} or newer is already stored`,
      {
        path: 'version',
        value: map.version,
      },
    )
  }
}
