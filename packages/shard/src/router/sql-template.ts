/**
 * A statement split at its `{name}` tokens: `parts[0] names[0] parts[1] … parts[n]`. Tokens are
 * found only in SQL text — never inside string literals (`'…'`, `E'…'`, `$tag$…$tag$`), quoted
 * identifiers (`"…"`) or comments — so `'{1,2}'` (an array literal) stays as written. A name is a
 * lowercase identifier; other braces are left alone (outside literals they are not SQL anyway).
 *
 * @example
 * parseSqlTemplate("SELECT * FROM {posts} WHERE tags @> '{a}'")
 * // { parts: ['SELECT * FROM ', " WHERE tags @> '{a}'"], names: ['posts'] }
 */
export function parseSqlTemplate(sql: string): { parts: string[]; names: string[] } {
  const parts: string[] = []
  const names: string[] = []
  let start = 0
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (c === QUOTE) {
      i = skipQuoted(sql, i, QUOTE, isEscapeString(sql, i))
    } else if (c === DOUBLE_QUOTE) {
      i = skipQuoted(sql, i, DOUBLE_QUOTE, false)
    } else if (c === DASH && sql.charCodeAt(i + 1) === DASH) {
      const end = sql.indexOf('\n', i + 2)
      i = end === -1 ? n : end + 1
    } else if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
      i = skipBlockComment(sql, i)
    } else if (c === DOLLAR) {
      i = skipDollarQuoted(sql, i)
    } else if (c === OPEN_BRACE) {
      const close = tokenEnd(sql, i)
      if (close === -1) {
        i++
      } else {
        parts.push(sql.slice(start, i))
        names.push(sql.slice(i + 1, close))
        start = close + 1
        i = close + 1
      }
    } else {
      i++
    }
  }
  parts.push(sql.slice(start))
  return { parts, names }
}

const QUOTE = 39 // '
const DOUBLE_QUOTE = 34 // "
const DASH = 45 // -
const SLASH = 47 // /
const STAR = 42 // *
const DOLLAR = 36 // $
const OPEN_BRACE = 123 // {
const CLOSE_BRACE = 125 // }
const BACKSLASH = 92

/** The index of the `}` closing a `{identifier}` token at `open`, or -1. */
function tokenEnd(sql: string, open: number): number {
  let i = open + 1
  const first = sql.charCodeAt(i)
  if (!(isLower(first) || first === 95)) return -1
  i++
  while (i < sql.length) {
    const c = sql.charCodeAt(i)
    if (c === CLOSE_BRACE) return i
    if (!(isLower(c) || c === 95 || (c >= 48 && c <= 57))) return -1
    i++
  }
  return -1
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122
}

/** `E'…'` (or `e'…'`), where a backslash escapes the quote — unless the E ends a longer word. */
function isEscapeString(sql: string, quote: number): boolean {
  const before = sql.charCodeAt(quote - 1)
  if (before !== 69 && before !== 101) return false
  return !isWordChar(sql.charCodeAt(quote - 2))
}

/** A character of an unquoted identifier (`NaN`, before the start, is none). */
function isWordChar(c: number): boolean {
  return isLower(c) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === DOLLAR || c > 127
}

/** Past the end of a literal opened at `open`; a doubled delimiter is part of it. */
function skipQuoted(sql: string, open: number, delimiter: number, backslashEscapes: boolean): number {
  let i = open + 1
  while (i < sql.length) {
    const c = sql.charCodeAt(i)
    if (backslashEscapes && c === BACKSLASH) {
      i += 2
    } else if (c === delimiter) {
      if (sql.charCodeAt(i + 1) === delimiter) i += 2
      else return i + 1
    } else {
      i++
    }
  }
  return sql.length
}

/** PostgreSQL's block comments nest. */
function skipBlockComment(sql: string, open: number): number {
  let depth = 0
  let i = open
  while (i < sql.length) {
    if (sql.charCodeAt(i) === SLASH && sql.charCodeAt(i + 1) === STAR) {
      depth++
      i += 2
    } else if (sql.charCodeAt(i) === STAR && sql.charCodeAt(i + 1) === SLASH) {
      depth--
      i += 2
      if (depth === 0) return i
    } else {
      i++
    }
  }
  return sql.length
}

/** `$tag$ … $tag$` (the tag may be empty); `$1` is a parameter and only steps past the `$`. */
function skipDollarQuoted(sql: string, open: number): number {
  // Inside a word (`price$usd`), a dollar is part of an identifier.
  if (isWordChar(sql.charCodeAt(open - 1))) return open + 1
  const match = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(open, open + 64))
  if (!match) return open + 1
  const tag = match[0]
  const end = sql.indexOf(tag, open + tag.length)
  return end === -1 ? sql.length : end + tag.length
}
