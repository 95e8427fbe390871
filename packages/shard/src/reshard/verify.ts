import { abortedError } from '../errors.js'
import { FENCE_TABLE } from './fence.js'
import { ident, withAdmin } from './pg-admin.js'
import type { ReshardPair } from './reshard-plan.js'
import type { ReshardTable } from './reshard-sql.js'

/** Count and checksum of one chunk on one side. */
export interface ChunkSum {
  readonly rows: number
  /** Sum of `hashtextextended(row::text, 0)` over the chunk's rows, as decimal text. */
  readonly sum: string
}

/** A chunk whose two sides differed. */
export interface Mismatch {
  readonly source: string
  readonly target: string
  readonly table: string
  readonly sourceSum: ChunkSum
  readonly targetSum: ChunkSum
}

export interface VerifyReport {
  readonly ok: boolean
  /** Chunks compared: one per physical table. */
  readonly chunks: number
  /** Rows compared (the source side's). */
  readonly rows: number
  readonly mismatches: readonly Mismatch[]
}

interface VerifyOptions {
  /** Proves the new database has applied everything the source committed before the call. */
  fenced(pair: ReshardPair, signal: AbortSignal | undefined): Promise<void>
  /** How long a chunk may wait for the writes in flight on its table. @default 5000 */
  lockTimeoutMs?: number
  signal: AbortSignal | undefined
}

/**
 * Compares the rows that move, one physical table at a time, exactly while writes go on (Vitess's
 * VDiff in miniature): the source table is locked `IN SHARE MODE` — writers to that one table wait, as
 * they would for any lock, and nothing fails — a fence proves the new database has applied every
 * write committed before the lock, and then both sides' count and checksum of the moving rows must be
 * equal. Each lock lasts one fence and two checksums of one physical table.
 */
export async function verifyPairs(
  pairs: readonly { pair: ReshardPair; tables: readonly ReshardTable[] }[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const { signal } = options
  let chunks = 0
  let rows = 0
  const mismatches: Mismatch[] = []
  for (const { pair, tables } of pairs) {
    await withAdmin(
      pair.source.url,
      async (source) => {
        await withAdmin(
          pair.target.url,
          async (target) => {
            for (const table of tables) {
              if (table.kind === 'stay' || table.name === FENCE_TABLE) continue
              if (signal?.aborted) throw abortedError(signal)
              const where = table.kind === 'split' ? table.moved! : 'true'
              chunks++
              await source('BEGIN')
              try {
                await source(`SET LOCAL lock_timeout = ${Math.floor(options.lockTimeoutMs ?? 5000)}`)
                await source(`LOCK TABLE ${ident(table.name)} IN SHARE MODE`)
                await options.fenced(pair, signal)
                const [sourceSum] = await source<ChunkSum>(checksumSql(table.name, where))
                const [targetSum] = await target<ChunkSum>(checksumSql(table.name, where))
                rows += sourceSum!.rows
                if (sourceSum!.rows !== targetSum!.rows || sourceSum!.sum !== targetSum!.sum) {
                  mismatches.push({
                    source: pair.source.name,
                    target: pair.target.name,
                    table: table.name,
                    sourceSum: sourceSum!,
                    targetSum: targetSum!,
                  })
                }
              } finally {
                await source('ROLLBACK')
              }
            }
          },
          signal,
        )
      },
      signal,
    )
  }
  return { ok: mismatches.length === 0, chunks, rows, mismatches }
}

function checksumSql(table: string, where: string): string {
  return `SELECT count(*)::int AS rows, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS sum FROM ${ident(table)} t WHERE ${where}`
}
