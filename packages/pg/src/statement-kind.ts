/**
 * What a statement is, judged from its text without a parser: enough to route it (read-only or not)
 * and to see transaction control, conservatively — anything unclear counts as a write.
 */

/** The statement's first keyword, upper-cased, past leading spaces, comments and parentheses. */
export function firstKeyword(sql: string): string {
  return firstWords(sql, 1)[0] ?? ''
}

const skip = /(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/y
const word = /[A-Za-z_]+/y

/** The first `count` words of a statement, upper-cased, past spaces, comments and opening parentheses. */
function firstWords(sql: string, count: number): string[] {
  const words: string[] = []
  let at = 0
  while (words.length < count) {
    skip.lastIndex = at
    skip.exec(sql)
    word.lastIndex = skip.lastIndex
    const match = word.exec(sql)
    if (!match) break
    words.push(match[0].toUpperCase())
    at = word.lastIndex
  }
  return words
}

/**
 * Splits a script at its top-level semicolons, leaving `;` inside quotes, dollar quotes and comments
 * alone. Empty statements are dropped.
 */
export function splitStatements(sql: string): string[] {
  if (!sql.includes(';')) return sql.trim() === '' ? [] : [sql]
  const statements: string[] = []
  let start = 0
  let i = 0
  while (i < sql.length) {
    const c = sql[i]!
    if (c === "'" || c === '"') {
      i = sql.indexOf(c, i + 1) // a doubled quote is two quoted runs side by side: same result
      if (i === -1) break
      i++
    } else if (c === '-' && sql[i + 1] === '-') {
      i = sql.indexOf('\n', i)
      if (i === -1) break
    } else if (c === '/' && sql[i + 1] === '*') {
      i = sql.indexOf('*/', i + 2)
      if (i === -1) break
      i += 2
    } else if (c === '$') {
      const tag = /^\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i))
      if (tag) {
        i = sql.indexOf(tag[0], i + tag[0].length)
        if (i === -1) break
        i += tag[0].length
      } else i++
    } else if (c === ';') {
      statements.push(sql.slice(start, i))
      start = ++i
    } else i++
  }
  statements.push(sql.slice(start))
  return statements.filter((s) => firstKeyword(s) !== '')
}

const readKeywords = new Set(['SELECT', 'SHOW', 'VALUES', 'TABLE', 'WITH'])
const writeInside =
  /\b(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b|\bINTO\b|\bnextval\s*\(/i

/**
 * Whether a statement only reads: a read keyword, and nothing in it that writes or locks. A script
 * of several statements is read-only when each of them is.
 *
 * @example
 * isReadOnly('SELECT * FROM posts WHERE id = $1') // true
 * isReadOnly('SELECT * FROM posts FOR UPDATE')    // false
 */
export function isReadOnly(sql: string): boolean {
  const statements = splitStatements(sql)
  return (
    statements.length > 0 &&
    statements.every((s) => readKeywords.has(firstKeyword(s)) && !writeInside.test(s))
  )
}

/** Statements that start, end or shape a transaction, by their first keyword. */
const transactionKeywords = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'END',
  'ABORT',
  'SAVEPOINT',
  'RELEASE',
])
/** `SET …` forms that only mean something inside a transaction. */
const transactionSets = new Set(['TRANSACTION', 'LOCAL', 'CONSTRAINTS'])

/**
 * The transaction-control statement in `sql`, if any (`BEGIN`, `START TRANSACTION`, `COMMIT`,
 * `ROLLBACK`, `END`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`, `SET TRANSACTION`,
 * `SET LOCAL`, `SET CONSTRAINTS`), as its leading words; undefined when there is none.
 */
export function transactionControl(sql: string): string | undefined {
  for (const statement of splitStatements(sql)) {
    const [first, second] = firstWords(statement, 2)
    if (first === undefined) continue
    if (transactionKeywords.has(first)) return first
    if (first === 'PREPARE' && second === 'TRANSACTION') return 'PREPARE TRANSACTION'
    if (first === 'SET' && second !== undefined && transactionSets.has(second)) return `SET ${second}`
  }
  return undefined
}

/**
 * What a statement does to its session's transaction: opens one, ends one, or neither (`inside`,
 * e.g. `ROLLBACK TO SAVEPOINT`, `COMMIT AND CHAIN`); undefined for a statement that is not
 * transaction control.
 */
export function transactionEffect(sql: string): 'begin' | 'end' | 'inside' | undefined {
  const words = firstWords(sql, 4)
  const [first, second] = words
  if (first === 'BEGIN' || first === 'START') return 'begin'
  if (first === 'COMMIT' || first === 'ROLLBACK' || first === 'END' || first === 'ABORT') {
    if (second === 'TO' || second === 'SAVEPOINT') return 'inside'
    if (second === 'AND' && words[2] === 'CHAIN') return 'inside'
    return 'end'
  }
  if (first === 'PREPARE' && second === 'TRANSACTION') return 'end'
  return transactionControl(sql) === undefined ? undefined : 'inside'
}
