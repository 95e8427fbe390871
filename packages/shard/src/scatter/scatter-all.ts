import { ShardError } from '../errors.js'
import { fanOut } from './fan-out.js'
import { queryShard } from './query-shard.js'
import { checkCount, checkParams, checkSql, checkTargets, scatterDefaults } from './scatter-options.js'
import type { ScatterHooks, ScatterTarget } from './target.js'

/** Options of {@link scatterAll}. Defaults are in `scatterDefaults`. */
export interface ScatterAllOptions extends ScatterHooks {
  /** Runs as it is on every shard. */
  sql: string
  params?: readonly unknown[] | undefined
  /** Shards queried at once. @default Infinity (all) */
  maxConcurrency?: number | undefined
  /** More rows than this in all fails the call with `E_SCATTER_REFUSED`. @default 10_000 */
  limitRows?: number | undefined
  /** Shards that fail are reported in `failed` instead of failing the call. @default false */
  partial?: boolean | undefined
  signal?: AbortSignal | undefined
}

/** A row and the shard it came from. */
export interface LabelledRow<R> {
  readonly label: string
  readonly row: R
}

/** A shard that failed in a `partial` fan-out. */
export interface FailedShard {
  readonly label: string
  readonly database: string
  readonly table: string
  /** `E_SHARD_QUERY`, with the driver's error as `cause`. */
  readonly error: ShardError
}

/** What {@link scatterAll} returns. */
export interface ScatterAllResult<R> {
  /** Every shard's rows, shards in the targets' order, each shard's rows in its own order. */
  rows: LabelledRow<R>[]
  /** The shards that failed, in the targets' order; always empty unless `partial`. */
  failed: FailedShard[]
}

/**
 * A plain fan-out for small lookups: the same statement on every shard, the rows concatenated with
 * the label of the shard each came from. The moment the rows received exceed `limitRows`, the
 * other shards' queries are cancelled and the call fails with `E_SCATTER_REFUSED` — a lookup that
 * turned into a scan should be a `streamOrdered` walk, not an array in memory.
 *
 * Any shard failure fails the call with `E_SHARD_QUERY`, unless `partial: true`: then the failed
 * shards are listed in `failed` and the others' rows returned. An abort always fails (`E_ABORTED`).
 *
 * @example
 * const { rows, failed } = await scatterAll(usersTargets, {
 *   sql: 'SELECT id, handle FROM {users} WHERE handle = ANY($1)',
 *   params: [handles],
 *   partial: true,
 *   signal,
 * })
 * for (const { label, row } of rows) console.log(label, row.handle)
 */
export async function scatterAll<R extends Record<string, unknown> = Record<string, unknown>>(
  targets: readonly ScatterTarget[],
  options: ScatterAllOptions,
): Promise<ScatterAllResult<R>> {
  checkTargets(targets)
  const sql = checkSql(options.sql)
  const params = checkParams(options.params)
  const maxConcurrency = checkCount(
    'maxConcurrency',
    options.maxConcurrency,
    scatterDefaults.maxConcurrency,
    true,
  )
  const limitRows = checkCount('limitRows', options.limitRows, scatterDefaults.limitRows)
  const partial = options.partial === true
  const signal = options.signal ?? new AbortController().signal

  let received = 0
  const failed: { index: number; shard: FailedShard }[] = []
  const results = await fanOut(targets, maxConcurrency, signal, async (target, index, signal) => {
    let rows: R[]
    try {
      rows = await queryShard<R>(target, sql, params, signal, options)
    } catch (error) {
      if (!partial || !(error instanceof ShardError) || error.code !== 'E_SHARD_QUERY') throw error
      failed.push({
        index,
        shard: { label: target.label, database: target.database, table: target.table, error },
      })
      return []
    }
    received += rows.length
    if (received > limitRows) {
      throw new ShardError(
        'E_SCATTER_REFUSED',
        `scatterAll received more than options.limitRows (${limitRows}) rows; use streamOrdered for scans`,
        { option: 'options.limitRows', value: limitRows },
      )
    }
    return rows.map((row) => ({ label: target.label, row }))
  })
  failed.sort((a, b) => a.index - b.index)
  return { rows: results.flat(), failed: failed.map((f) => f.shard) }
}
