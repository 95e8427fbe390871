import { setTimeout as delay } from 'node:timers/promises'
import { abortedError } from '../errors.js'
import { type AdminSql, withAdmin } from './pg-admin.js'

/** The fence table: one row per resharding, replicated with the data. */
export const FENCE_TABLE = 'hf_reshard_fence'

export const fenceTableSql = `CREATE TABLE IF NOT EXISTS ${FENCE_TABLE} (
  id text PRIMARY KEY,
  seq bigint NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
)`

let counter = 0

/**
 * Proves a subscriber has applied everything its publisher committed before now: commits a fence row
 * on the publisher, then waits until the subscriber shows it. Logical replication applies transactions
 * in commit order, so once the fence is there, so is every write committed before it — unlike waiting
 * for a slot's confirmed position, which an idle publisher only learns at the next status report
 * (seconds). `id` names the resharding (and direction).
 *
 * @example
 * await fence(sourceUrl, targetUrl, 'v1to2', signal) // the new database has every committed write
 */
export async function fence(
  publisherUrl: string,
  subscriberUrl: string,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  const seq = Date.now() * 1000 + (counter++ % 1000)
  await withAdmin(
    publisherUrl,
    (sql) =>
      sql(
        `INSERT INTO ${FENCE_TABLE} (id, seq) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, at = now()`,
        [id, seq],
      ),
    signal,
  )
  await withAdmin(subscriberUrl, (sql) => untilFenced(sql, id, seq, signal), signal)
}

async function untilFenced(
  sql: AdminSql,
  id: string,
  seq: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (let waitMs = 1; ; waitMs = Math.min(waitMs * 2, 50)) {
    const rows = await sql<{ seq: string }>(`SELECT seq::text FROM ${FENCE_TABLE} WHERE id = $1`, [id])
    if (rows[0] && BigInt(rows[0].seq) >= BigInt(seq)) return
    if (signal?.aborted) throw abortedError(signal)
    await delay(waitMs)
  }
}
