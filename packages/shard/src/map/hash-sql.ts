import { ShardError } from '../errors.js'

/** SQL expressions computing where rows land; see {@link shardHashSql}. */
export interface ShardHashSql {
  /** The database index, `lo % databases`, as a `bigint` expression. */
  database: string
  /** The table index, `hi % tables`, as a `bigint` expression. */
  table: string
  /** `lo`: bytes 4..7 of the md5, unsigned. */
  lo: string
  /** `hi`: bytes 0..3 of the md5, unsigned. */
  hi: string
}

/**
 * The shard hash in SQL, for verification and cleanup statements that must agree with the router:
 * `('x' || substr(md5(k::text), 9, 8))::bit(32)::bigint` is `lo` (hex digits 9..16 are bytes 4..7),
 * digits 1..8 are `hi`. The key is hashed as its `::text` in the server's encoding, which must be
 * UTF8 to match `shardHash` on strings.
 *
 * @example
 * const where = shardHashSql('user_id', { databases: 16, tables: 64 })
 * // rows of users_07 in app_03 that do not belong there (after a reshard, say):
 * await db.query(`SELECT user_id FROM users_07 WHERE ${where.database} <> 3 OR ${where.table} <> 7`)
 */
export function shardHashSql(
  keyExpression: string,
  layout: { databases: number; tables: number },
): ShardHashSql {
  if (typeof keyExpression !== 'string' || keyExpression.trim() === '') {
    throw new ShardError('E_INVALID_OPTION', 'keyExpression must be a non-empty SQL expression', {
      option: 'keyExpression',
      value: keyExpression,
    })
  }
  for (const name of ['databases', 'tables'] as const) {
    const n = layout?.[name]
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ShardError('E_INVALID_OPTION', `layout.${name} must be a positive integer`, {
        option: `layout.${name}`,
        value: n,
      })
    }
  }
  const digest = `md5((${keyExpression})::text)`
  const lo = `('x' || substr(${digest}, 9, 8))::bit(32)::bigint`
  const hi = `('x' || substr(${digest}, 1, 8))::bit(32)::bigint`
  return { lo, hi, database: `(${lo} % ${layout.databases})`, table: `(${hi} % ${layout.tables})` }
}
