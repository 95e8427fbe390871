import { createHash } from 'node:crypto'
import { ShardError } from '../errors.js'
import { type OrderByColumn, parseOrderKey } from './order-key.js'

/** Cursors longer than this are refused before they are decoded. */
const MAX_CURSOR_LENGTH = 8192

/**
 * The fingerprint of a query's shape — its SQL, parameters and order-by columns (not its limit,
 * so the page size may change between pages) — that a cursor is bound to.
 *
 * @example
 * const shape = queryShape('SELECT id FROM {t} WHERE author_id = $1', [7], orderBy)
 * @internal
 */
export function queryShape(
  sql: string,
  params: readonly unknown[],
  orderBy: readonly OrderByColumn[],
): string {
  const columns = orderBy.map((c) => [c.column, c.direction, c.type])
  return digest(JSON.stringify(['scatter-ordered/1', sql, columns, params], canonical))
}

/**
 * The opaque cursor after a row: base64url JSON of the query's shape, the row's order-by keys as
 * PostgreSQL's text, and a checksum over both.
 *
 * The checksum catches a cursor that was edited or cut, not a forger (it is not keyed): a forged
 * cursor can only start a walk at another position, since its keys travel as bound parameters.
 * @internal
 */
export function encodeCursor(shape: string, keys: readonly string[]): string {
  const body: CursorBody = { v: 1, q: shape, k: keys, h: checksum(shape, keys) }
  return Buffer.from(JSON.stringify(body)).toString('base64url')
}

/**
 * The keys of a cursor made by {@link encodeCursor} for this query shape; anything else
 * (another query, an edit, garbage) throws `E_INVALID_CURSOR`.
 * @internal
 */
export function decodeCursor(cursor: unknown, shape: string, orderBy: readonly OrderByColumn[]): string[] {
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalid('the cursor is not one this package made')
  }
  let body: Partial<CursorBody>
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalid('the cursor is not one this package made')
  }
  const keys = body?.k
  if (
    body?.v !== 1 ||
    typeof body.q !== 'string' ||
    !Array.isArray(keys) ||
    !keys.every((k) => typeof k === 'string')
  ) {
    throw invalid('the cursor is not one this package made')
  }
  if (body.h !== checksum(body.q, keys)) throw invalid('the cursor was altered')
  if (body.q !== shape) throw invalid('the cursor was made for another query (sql, params or orderBy differ)')
  if (
    keys.length !== orderBy.length ||
    keys.some((k, i) => parseOrderKey(orderBy[i]!.type, k) === undefined)
  ) {
    throw invalid('the cursor does not fit options.orderBy')
  }
  return keys
}

interface CursorBody {
  v: 1
  /** The query shape. */
  q: string
  /** The last row's order-by keys, as text. */
  k: readonly string[]
  /** Checksum of `q` and `k`. */
  h: string
}

function checksum(shape: string, keys: readonly string[]): string {
  return digest(JSON.stringify([shape, keys])).slice(0, 11)
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

/** JSON for parameters that JSON.stringify cannot take as they are. */
function canonical(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (value === undefined) return null
  return value
}

function invalid(message: string): ShardError {
  return new ShardError('E_INVALID_CURSOR', message)
}
