import type { OrderByColumn } from './order-key.js'

/** The statement one shard runs for one page of a cross-shard ordered read. @internal */
export interface PageStatement {
  readonly sql: string
  readonly params: readonly unknown[]
}

/** The name of the hidden column carrying order-by key `index` as text. @internal */
export function keyColumn(index: number): string {
  return `__hf_k${index}`
}

/**
 * Wraps the caller's SELECT into one page of the keyset walk:
 *
 * ```sql
 * SELECT s.*, s."created_at"::text AS "__hf_k0", s."id"::text AS "__hf_k1"
 * FROM (
 * <the caller's sql>
 * ) AS s
 * WHERE (s."created_at", s."id") < ($2, $3)  -- only after a key; mixed directions expand to ORs
 * ORDER BY s."created_at" DESC, s."id" DESC
 * LIMIT $4
 * ```
 *
 * Parameters: the caller's, then (after a key) one per order-by column as PostgreSQL's text form,
 * whose type the server infers from the column it is compared with, then the page size. PostgreSQL
 * flattens such a subquery, so the condition and the ORDER BY reach the table's index.
 *
 * @example
 * pageStatement('SELECT id FROM {t} WHERE author_id = $1', [7], [{ column: 'id', direction: 'desc', type: 'integer' }], ['42'], 10)
 * @internal
 */
export function pageStatement(
  sql: string,
  params: readonly unknown[],
  orderBy: readonly OrderByColumn[],
  after: readonly string[] | undefined,
  limit: number,
): PageStatement {
  const base = withoutTrailingSemicolons(sql)
  const keys = orderBy.map((c, i) => `s.${quote(c.column)}::text AS ${quote(keyColumn(i))}`).join(', ')
  const lines = [`SELECT s.*, ${keys}`, 'FROM (', base, ') AS s']
  const all: unknown[] = [...params]
  if (after !== undefined) {
    const first = all.length + 1
    all.push(...after)
    lines.push(`WHERE ${keysetCondition(orderBy, first)}`)
  }
  lines.push(`ORDER BY ${orderBy.map((c) => `${sortExpression(c)} ${c.direction.toUpperCase()}`).join(', ')}`)
  all.push(limit)
  lines.push(`LIMIT $${all.length}`)
  return { sql: lines.join('\n'), params: all }
}

/** "Strictly after the key in $first…": a row comparison when all directions agree, else ORs. */
function keysetCondition(orderBy: readonly OrderByColumn[], first: number): string {
  const param = (i: number) => `$${first + i}`
  const direction = orderBy[0]!.direction
  if (orderBy.every((c) => c.direction === direction)) {
    const op = direction === 'asc' ? '>' : '<'
    return `(${orderBy.map(sortExpression).join(', ')}) ${op} (${orderBy.map((_, i) => param(i)).join(', ')})`
  }
  const branches = orderBy.map((column, i) => {
    const equal = orderBy.slice(0, i).map((c, j) => `${sortExpression(c)} = ${param(j)}`)
    const op = column.direction === 'asc' ? '>' : '<'
    return `(${[...equal, `${sortExpression(column)} ${op} ${param(i)}`].join(' AND ')})`
  })
  return `(${branches.join(' OR ')})`
}

/** The caller's statement is wrapped in parentheses, where a closing `;` would be a syntax error. */
function withoutTrailingSemicolons(sql: string): string {
  let end = sql.trimEnd().length
  while (end > 0 && sql[end - 1] === ';') end = sql.slice(0, end - 1).trimEnd().length
  return sql.slice(0, end)
}

function sortExpression(column: OrderByColumn): string {
  return column.type === 'text' ? `s.${quote(column.column)} COLLATE "C"` : `s.${quote(column.column)}`
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}
