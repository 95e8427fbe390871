import { decodeCursor, queryShape } from './cursor.js'
import type { OrderByColumn } from './order-key.js'
import { OrderedMerge, type OrderedMergeSpec } from './ordered-merge.js'
import {
  checkCount,
  checkOrderBy,
  checkParams,
  checkSql,
  checkTargets,
  scatterDefaults,
} from './scatter-options.js'
import type { ScatterHooks, ScatterTarget } from './target.js'

/** Options of {@link streamOrdered}. Defaults are in `scatterDefaults`. */
export interface StreamOrderedOptions extends ScatterHooks {
  /** As for `scatterOrdered`: a SELECT without ORDER BY, LIMIT or OFFSET. */
  sql: string
  params?: readonly unknown[] | undefined
  /** As for `scatterOrdered`; the last column must be unique across all shards. */
  orderBy: readonly OrderByColumn[]
  /** Rows asked of each shard at a time. @default 100 */
  pageSize?: number | undefined
  /** Start after the page of `scatterOrdered` (same sql, params and orderBy) that returned it. */
  cursor?: string | null | undefined
  /** Shards queried at once for their first page. @default Infinity (all) */
  maxConcurrency?: number | undefined
  signal?: AbortSignal | undefined
}

/**
 * Every row of every shard in one merged order, as an async iterator: the same streaming k-way
 * merge as `scatterOrdered`, reading each shard a page at a time and only when the merge needs its
 * next row, so memory stays at one page per shard. Stopping early (`break`) fetches nothing more.
 * Options are checked when it is called; shard failures surface from the loop as `E_SHARD_QUERY`.
 *
 * @example
 * for await (const post of streamOrdered(postsTargets, {
 *   sql: 'SELECT id, author_id, text FROM {posts}',
 *   orderBy: [{ column: 'id', direction: 'asc', type: 'integer' }],
 *   signal,
 * })) {
 *   await exportFile.write(`${JSON.stringify(post)}\n`)
 * }
 */
export function streamOrdered<R extends Record<string, unknown> = Record<string, unknown>>(
  targets: readonly ScatterTarget[],
  options: StreamOrderedOptions,
): AsyncGenerator<R, void, undefined> {
  checkTargets(targets)
  const sql = checkSql(options.sql)
  const params = checkParams(options.params)
  const orderBy = checkOrderBy(options.orderBy)
  const pageSize = checkCount('pageSize', options.pageSize, scatterDefaults.pageSize)
  const maxConcurrency = checkCount(
    'maxConcurrency',
    options.maxConcurrency,
    scatterDefaults.maxConcurrency,
    true,
  )
  const shape = queryShape(sql, params, orderBy)
  const after = options.cursor == null ? undefined : decodeCursor(options.cursor, shape, orderBy)
  const spec = { sql, params, orderBy, pageSize, after, maxConcurrency, hooks: options }
  return walk<R>(targets, spec, options.signal)
}

async function* walk<R>(
  targets: readonly ScatterTarget[],
  spec: OrderedMergeSpec,
  callerSignal: AbortSignal | undefined,
): AsyncGenerator<R, void, undefined> {
  // Ends whatever is in flight when the consumer leaves the loop or the walk fails.
  const stop = new AbortController()
  const signal = callerSignal ? AbortSignal.any([callerSignal, stop.signal]) : stop.signal
  try {
    const merge = new OrderedMerge(targets, spec, signal)
    await merge.start()
    for (let next = await merge.next(); next !== undefined; next = await merge.next()) yield next.row as R
  } finally {
    stop.abort()
  }
}
