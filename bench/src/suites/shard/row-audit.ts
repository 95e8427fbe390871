import type { ShardMap, ShardRouter } from '@hundredfold/shard'

/** What the audit after `complete` found, against what must be there. */
export interface RowAudit {
  /** Rows in every physical table of the map. */
  rows: number
  /** Ids that must be there (seeded, or acknowledged to a writer) and are in no table. */
  lost: number
  /** Copies beyond the first of any id (an id in two tables, or twice). */
  duplicated: number
  /** Ids found in a table other than the one the map puts them in. */
  misplaced: number
  /** Rows of writes that failed or timed out for their writer but committed all the same. */
  unacknowledged: number
}

/**
 * Reads the id of every row of every physical table of `map` (through `router`, on that map) and
 * checks each expected id is there exactly once, where the map says.
 */
export async function auditRows(
  router: ShardRouter,
  map: ShardMap,
  expected: { seeded: { first: number; count: number }; acked: readonly number[] },
  signal: AbortSignal,
): Promise<RowAudit> {
  const seen = new Map<number, number>()
  let rows = 0
  let misplaced = 0
  const locations = map.locations('items')
  await Promise.all(
    map.databases.map(async (database) => {
      const cluster = router.cluster(database.index)
      for (const location of locations) {
        if (location.databaseIndex !== database.index) continue
        const result = await cluster.query<{ id: string }>(
          `SELECT id::text AS id FROM ${location.physicalTable}`,
          [],
          { signal },
        )
        for (const row of result.rows) {
          const id = Number(row.id)
          rows++
          seen.set(id, (seen.get(id) ?? 0) + 1)
          if (map.resolve('items', id) !== location) misplaced++
        }
      }
    }),
  )
  let lost = 0
  const { first, count } = expected.seeded
  for (let id = first; id < first + count; id++) if (!seen.has(id)) lost++
  const ackedIds = new Set(expected.acked)
  for (const id of ackedIds) if (!seen.has(id)) lost++
  let duplicated = 0
  let unacknowledged = 0
  for (const [id, copies] of seen) {
    duplicated += copies - 1
    const isSeeded = id >= first && id < first + count
    if (!isSeeded && !ackedIds.has(id)) unacknowledged++
  }
  return { rows, lost, duplicated, misplaced, unacknowledged }
}
