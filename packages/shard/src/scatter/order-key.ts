import { compareDecimal, type Decimal, parseDecimal } from './decimal.js'
import { timestampMicros } from './timestamp-text.js'

/**
 * How an order-by column's values compare. The merge reads each key as PostgreSQL's own text form
 * (`column::text`), never the driver's parsed value, so it compares exactly what the shards sorted:
 *
 * - `'integer'`: `int2`, `int4`, `int8` — compared as BigInt (Snowflake ids stay exact).
 * - `'numeric'`: `numeric`, `float4`, `float8` — compared as exact decimals; `NaN` sorts last.
 * - `'text'`: `text`, `varchar` — sorted `COLLATE "C"` on every shard (code point order), which is
 *   the only collation the merge can reproduce; index such columns `COLLATE "C"` to keep the index.
 * - `'timestamp'`: `timestamptz`, `timestamp`, `date` — at microsecond precision.
 * - `'uuid'`: `uuid` — byte order, which is the order of the lowercase text.
 */
export type OrderKeyType = 'integer' | 'numeric' | 'text' | 'timestamp' | 'uuid'

/** One column of a cross-shard `ORDER BY`. */
export interface OrderByColumn {
  /** An output column of the caller's SELECT (its alias, if it has one). Must be NOT NULL. */
  readonly column: string
  readonly direction: 'asc' | 'desc'
  readonly type: OrderKeyType
}

/** A key parsed for comparison. @internal */
export type OrderKey = bigint | number | string | Decimal

export const orderKeyTypes: readonly OrderKeyType[] = ['integer', 'numeric', 'text', 'timestamp', 'uuid']

/** Parses PostgreSQL's text form of a key; `undefined` if it is not one of `type`. @internal */
export function parseOrderKey(type: OrderKeyType, text: string): OrderKey | undefined {
  switch (type) {
    case 'integer':
      return /^-?\d{1,20}$/.test(text) ? BigInt(text) : undefined
    case 'numeric':
      return parseDecimal(text)
    case 'timestamp':
      return timestampMicros(text)
    case 'uuid':
      return /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(text)
        ? text.toLowerCase().replaceAll('-', '')
        : undefined
    case 'text':
      return text
  }
}

/** Compares two parsed key tuples under `orderBy`'s directions. @internal */
export function compareOrderKeys(
  orderBy: readonly OrderByColumn[],
  a: readonly OrderKey[],
  b: readonly OrderKey[],
): number {
  for (let i = 0; i < orderBy.length; i++) {
    const column = orderBy[i]!
    const order = compareKey(column.type, a[i]!, b[i]!)
    if (order !== 0) return column.direction === 'asc' ? order : -order
  }
  return 0
}

function compareKey(type: OrderKeyType, a: OrderKey, b: OrderKey): number {
  switch (type) {
    case 'numeric':
      return compareDecimal(a as Decimal, b as Decimal)
    case 'text':
      return compareCodePoints(a as string, b as string)
    default:
      // bigints, ±Infinity and lowercase hex strings all compare correctly with < and >.
      return a < b ? -1 : a > b ? 1 : 0
  }
}

/**
 * Code point order (UTF-8 byte order, which is `COLLATE "C"`). JavaScript's `<` compares UTF-16
 * code units, which puts U+E000–U+FFFF after the surrogates of astral characters; this does not.
 * @internal
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800
  if (unit >= 0xd800) return unit + 0x2000
  return unit
}
