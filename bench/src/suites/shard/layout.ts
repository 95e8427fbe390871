import { randomBytes } from 'node:crypto'
import {
  type Migration,
  parseShardMap,
  type ShardLocation,
  type ShardMap,
  type ShardMapDocument,
  type ShardRouter,
} from '@hundredfold/shard'
import pg from 'pg'

/** The one logical table of the suite: hash on `id`, with the index the scatter's ORDER BY needs. */
export const ITEMS_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    name: '001_items',
    sql:
      'CREATE TABLE {items} (id bigint PRIMARY KEY, writer int NOT NULL DEFAULT 0, payload text NOT NULL, ' +
      'created_at timestamptz NOT NULL DEFAULT now()); CREATE INDEX ON {items} (created_at, id)',
  },
])

/** A shape of map: databases × physical tables of `items` per database. */
export interface MapShape {
  databases: number
  tables: number
}

/**
 * A map of one hash table (`items`, key `id`) on one server, named `<prefix>_<random>` so that runs
 * (and other engineers' databases on a shared server) never meet.
 */
export function itemsMap(prefix: string, serverUrl: string, shape: MapShape): ShardMap {
  const document: ShardMapDocument = {
    version: 1,
    name: `${prefix}_${randomBytes(3).toString('hex')}`,
    servers: { a: { primary: serverOf(serverUrl) } },
    databases: { count: shape.databases },
    tables: { items: { type: 'hash', key: 'id', tables: shape.tables } },
  }
  return parseShardMap(document)
}

/** A `postgres://…/postgres` url without its database: what a map's servers take. */
export function serverOf(url: string): string {
  const parsed = new URL(url)
  parsed.pathname = ''
  return parsed.toString().replace(/\/$/, '')
}

/**
 * Inserts rows `firstId … firstId + rows - 1` where the map puts them: ids are placed here (one md5
 * each, `map.resolve`) and sent as one `unnest` statement per physical table, databases in parallel. `created_at`
 * falls one millisecond per id before the seeding began: the newest rows are the lowest ids, with no ties.
 */
export async function seedItems(
  router: ShardRouter,
  firstId: number,
  rows: number,
  signal: AbortSignal,
): Promise<void> {
  const map = router.map
  const base = new Date()
  const byTable = new Map<ShardLocation, number[]>()
  for (let id = firstId; id < firstId + rows; id++) {
    const location = map.resolve('items', id)
    const ids = byTable.get(location)
    if (ids) ids.push(id)
    else byTable.set(location, [id])
  }
  await Promise.all(
    map.databases.map(async (database) => {
      const cluster = router.cluster(database.index)
      for (const [location, ids] of byTable) {
        if (location.databaseIndex !== database.index) continue
        signal.throwIfAborted()
        await cluster.query(
          `INSERT INTO ${location.physicalTable} (id, payload, created_at)
           SELECT id, repeat(md5(id::text), 3), $2::timestamptz - id * interval '1 millisecond' FROM unnest($1::bigint[]) AS id`,
          [ids, base],
          { signal },
        )
      }
    }),
  )
}

/** Every seeded id that lands in one physical table: the keys of the point query. */
export function keysOf(map: ShardMap, label: string, firstId: number, rows: number): number[] {
  const keys: number[] = []
  for (let id = firstId; id < firstId + rows; id++)
    if (map.resolve('items', id).label === label) keys.push(id)
  return keys
}

/** Drops every database of the maps given (after their routers are ended), whatever state they are in. */
export async function dropDatabases(adminUrl: string, maps: readonly ShardMap[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  client.on('error', () => {})
  await client.connect()
  try {
    const names = new Set(maps.flatMap((map) => map.databases.map((d) => d.name)))
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await client.end()
  }
}
