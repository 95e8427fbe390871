import { ShardError } from '../errors.js'
import { decodeCursor, encodeCursor, queryShape } from './cursor.js'
import type { OrderByColumn } from './order-key.js'
import { type MergedRow, OrderedMerge } from './ordered-merge.js'
import {
  checkCount,
  checkNonNegative,
  checkOrderBy,
  checkParams,
  checkSql,
  checkTargets,
  scatterDefaults,
} from './scatter-options.js'
import type { ScatterHooks, ScatterTarget } from './target.js'

/** Options of {@link scatterOrdered}. Defaults are in `scatterDefaults`. */
export interface ScatterOrderedOptions extends ScatterHooks {
  /**
   * A SELECT without ORDER BY, LIMIT or OFFSET (they are added around it), whose output columns
   * include every `orderBy` column. Placeholders such as `{t}` are the targets' business.
   */
  sql: string
  /** `$1…$n` of `sql`. @default [] */
  params?: readonly unknown[] | undefined
  /** The order; the last column must be unique across all shards (e.g. a Snowflake id), so the order is total. */
  orderBy: readonly OrderByColumn[]
  /** Rows per page (also what each shard is asked for at a time). */
  limit: number
  /** Continue after the page that returned this `nextCursor`. @default the beginning */
  cursor?: string | null | undefined
  /** Rows to skip (after the cursor, if any). Beyond `maxOffset`: `E_DEEP_OFFSET`. @default 0 */
  offset?: number | undefined
  /** The deepest `offset` accepted. @default 0 */
  maxOffset?: number | undefined
  /** Shards queried at once for their first page. @default Infinity (all) */
  maxConcurrency?: number | undefined
  signal?: AbortSignal | undefined
}

/** One page of {@link scatterOrdered}. */
export interface ScatterOrderedPage<R> {
  rows: R[]
  /**
   * Pass it as `cursor` for the next page. `null` when the merge knows no shard has more rows;
   * when this page ended exactly at the end of a shard's full page the merge cannot know without
   * another query, so the cursor is set and the next page may come back empty (with `null`).
   */
  nextCursor: string | null
}

/**
 * `ORDER BY … LIMIT` across shards: each shard is asked for `limit` rows in the same order, and a
 * streaming k-way merge takes the first `limit` of them all, fetching a shard's next page only when
 * the merge needs it. `nextCursor` continues exactly after the last row — keyset pagination, so no
 * row is repeated or skipped between pages, however rows tie on the leading columns.
 *
 * Fails with `E_SHARD_QUERY` if any shard fails (there are no partial pages: the cursor would
 * step over the missing shard's rows for good), `E_ABORTED` when `signal` fires (in-flight shard
 * queries are cancelled), `E_INVALID_CURSOR` for a cursor of another query, `E_DEEP_OFFSET` for an
 * `offset` beyond `maxOffset`, and `E_INVALID_OPTION` for bad options, a NULL order-by value or rows
 * that tie on every order-by column.
 *
 * @example
 * // postsTargets: the router's ScatterTarget for every physical posts table
 * const page = await scatterOrdered(postsTargets, {
 *   sql: 'SELECT id, author_id, created_at, text FROM {posts} WHERE author_id = ANY($1)',
 *   params: [followed],
 *   orderBy: [
 *     { column: 'created_at', direction: 'desc', type: 'timestamp' },
 *     { column: 'id', direction: 'desc', type: 'integer' },
 *   ],
 *   limit: 20,
 *   cursor: request.query.cursor,
 *   signal,
 * })
 * reply.send({ posts: page.rows, next: page.nextCursor })
 */
export async function scatterOrdered<R extends Record<string, unknown> = Record<string, unknown>>(
  targets: readonly ScatterTarget[],
  options: ScatterOrderedOptions,
): Promise<ScatterOrderedPage<R>> {
  checkTargets(targets)
  const sql = checkSql(options.sql)
  const params = checkParams(options.params)
  const orderBy = checkOrderBy(options.orderBy)
  const limit = checkCount('limit', options.limit ?? null, 0)
  const maxConcurrency = checkCount(
    'maxConcurrency',
    options.maxConcurrency,
    scatterDefaults.maxConcurrency,
    true,
  )
  const maxOffset = checkNonNegative('maxOffset', options.maxOffset, scatterDefaults.maxOffset)
  const offset = checkNonNegative('offset', options.offset, 0)
  if (offset > maxOffset) {
    throw new ShardError(
      'E_DEEP_OFFSET',
      `offset ${offset} is beyond maxOffset ${maxOffset}: across shards every shard would have to return offset + limit rows; page with the cursor instead`,
      { offset, maxOffset },
    )
  }
  const shape = queryShape(sql, params, orderBy)
  const after = options.cursor == null ? undefined : decodeCursor(options.cursor, shape, orderBy)
  const signal = options.signal ?? new AbortController().signal

  const merge = new OrderedMerge(
    targets,
    { sql, params, orderBy, pageSize: offset + limit, after, maxConcurrency, hooks: options },
    signal,
  )
  await merge.start()
  for (let skipped = 0; skipped < offset; skipped++) {
    if ((await merge.next()) === undefined) return { rows: [], nextCursor: null }
  }
  const rows: R[] = []
  let last: MergedRow | undefined
  while (rows.length < limit) {
    const next = await merge.next()
    if (next === undefined) break
    rows.push(next.row as R)
    last = next
  }
  const nextCursor =
    last !== undefined && rows.length === limit && merge.more ? encodeCursor(shape, last.texts) : null
  return { rows, nextCursor }
}
