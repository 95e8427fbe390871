import { hash } from 'node:crypto'
import { ShardError } from '../errors.js'

/** A shard key: an integer (number or bigint) or a string. Hashed as its text, as PostgreSQL's `::text` prints it. */
export type ShardKey = string | number | bigint

/**
 * The two 32-bit halves of a key's hash: `h = md5(utf8(keyText))`, `lo` = bytes 4..7 and `hi` =
 * bytes 0..3, each read big-endian as an unsigned integer. A row goes to database `lo % databases`
 * and table `hi % tables`. md5 because PostgreSQL has it too (see `shardHashSql`), so SQL can
 * recompute where a row belongs; two independent halves because doubling the databases must
 * never move a row to another table index.
 *
 * @example
 * const { lo, hi } = shardHash(42n)
 * const database = lo % 16 // the same row at 32 databases: database or database + 16
 * const table = hi % 64    // unchanged by any change of the database count
 */
export function shardHash(key: ShardKey): { lo: number; hi: number } {
  const digest = hash('md5', shardKeyText(key), 'buffer')
  return { lo: digest.readUInt32BE(4), hi: digest.readUInt32BE(0) }
}

/**
 * Where a key lands in a layout of `databases` × `tables`.
 *
 * @example
 * shardIndexes('alice', 16, 64) // { database: …, table: … }
 */
export function shardIndexes(
  key: ShardKey,
  databases: number,
  tables: number,
): { database: number; table: number } {
  const { lo, hi } = shardHash(key)
  return { database: lo % databases, table: hi % tables }
}

/**
 * The text a key is hashed as: integers in decimal, strings as they are. Throws `E_NO_SHARD_KEY` for anything else.
 *
 * @example
 * shardKeyText(42n) // '42', as PostgreSQL's 42::bigint::text
 */
export function shardKeyText(key: unknown): string {
  if (typeof key === 'string') return key
  if (typeof key === 'bigint') return key.toString()
  if (typeof key === 'number' && Number.isSafeInteger(key)) return String(key)
  throw new ShardError(
    'E_NO_SHARD_KEY',
    'a shard key must be a string, a bigint or a safe integer (hashed as its decimal text)',
    { value: key },
  )
}
