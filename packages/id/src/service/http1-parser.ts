import type { ServiceErrorCode } from './problem.js'

/** One complete request head, parsed. */
export interface RequestHead {
  readonly kind: 'head'
  readonly method: string
  /** The request-target as sent (origin-form `/ids?count=2`, or absolute-form). */
  readonly target: string
  /** HTTP/1.0 (answered as HTTP/1.1, which a 1.0 client accepts). */
  readonly http10: boolean
  /** Whether the connection stays open after the answer: 1.1 unless `close`, 1.0 only with `keep-alive`. */
  readonly keepAlive: boolean
  /** Offset just past the head's blank line. */
  readonly end: number
}

/** A head that must be refused; the connection is closed after the answer. */
export interface HeadError {
  readonly kind: 'error'
  readonly code: Extract<ServiceErrorCode, 'E_BAD_REQUEST' | 'E_HEADERS_TOO_LARGE' | 'E_HTTP_VERSION'>
  readonly detail: string
}

const CR = 13
const LF = 10
const SP = 32
const HTAB = 9
const COLON = 58

// tchar (RFC 9110 §5.6.2): the characters of methods and header names.
const TCHAR = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 48; c <= 57; c++) TCHAR[c] = 1
for (let c = 65; c <= 90; c++) TCHAR[c] = 1
for (let c = 97; c <= 122; c++) TCHAR[c] = 1

const bad = (detail: string): HeadError => ({ kind: 'error', code: 'E_BAD_REQUEST', detail })
const TOO_LARGE: HeadError = Object.freeze({
  kind: 'error',
  code: 'E_HEADERS_TOO_LARGE',
  detail: 'the request head is larger than maxHeaderSize',
})

/**
 * Parses the request head that starts at `start` of `text` (bytes as latin1, one char per byte), strictly
 * as RFC 9112 asks of a server that serves only bodiless GETs:
 *
 * - `undefined` while the head is incomplete (no blank line yet) and still within `maxHeaderSize`;
 * - a {@link HeadError} for a bad request line, header line, bare LF, obs-fold, a missing or repeated
 *   `Host` in 1.1, any body (`Content-Length` > 0 or any `Transfer-Encoding`), or a head over the limit;
 * - else the {@link RequestHead}.
 *
 * Only `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are looked at; other fields are
 * checked for syntax and skipped.
 *
 * @example
 * parseHead('GET /ids HTTP/1.1\r\nHost: a\r\n\r\n', 0, 16384) // { kind: 'head', method: 'GET', target: '/ids', … }
 */
export function parseHead(
  text: string,
  start: number,
  maxHeaderSize: number,
): RequestHead | HeadError | undefined {
  // RFC 9112 §2.2: empty lines before a request line are ignored (some clients send CRLF after a request).
  while (text.charCodeAt(start) === CR && text.charCodeAt(start + 1) === LF) start += 2
  const blank = text.indexOf('\r\n\r\n', start)
  if (blank === -1) {
    if (text.length - start > maxHeaderSize) return TOO_LARGE
    return undefined
  }
  const end = blank + 4
  if (end - start > maxHeaderSize) return TOO_LARGE

  // Request line: method SP request-target SP HTTP-version.
  let lineEnd = text.indexOf('\r\n', start)
  let i = start
  while (i < lineEnd && TCHAR[text.charCodeAt(i)] === 1) i++
  if (i === start || text.charCodeAt(i) !== SP) {
    return bad('malformed request line')
  }
  const method = text.slice(start, i)
  const targetStart = ++i
  while (i < lineEnd) {
    const c = text.charCodeAt(i)
    if (c <= SP || c >= 127) break
    i++
  }
  if (i === targetStart || text.charCodeAt(i) !== SP || lineEnd - i !== 9) {
    return bad('malformed request line')
  }
  const target = text.slice(targetStart, i)
  if (text.charCodeAt(i + 1) !== 72 || !text.startsWith('HTTP/', i + 1)) return bad('malformed request line')
  const major = text.charCodeAt(i + 6)
  const minor = text.charCodeAt(i + 8)
  if (text.charCodeAt(i + 7) !== 46 || !isDigit(major) || !isDigit(minor))
    return bad('malformed HTTP version')
  if (major !== 49 || (minor !== 48 && minor !== 49)) {
    return { kind: 'error', code: 'E_HTTP_VERSION', detail: 'only HTTP/1.1 and HTTP/1.0 are served' }
  }
  const http10 = minor === 48

  // Header fields.
  let hosts = 0
  let close = false
  let keepAliveToken = false
  while (lineEnd < blank) {
    const lineStart = lineEnd + 2
    lineEnd = text.indexOf('\r\n', lineStart)
    i = lineStart
    while (i < lineEnd && TCHAR[text.charCodeAt(i)] === 1) i++
    if (i === lineStart || text.charCodeAt(i) !== COLON) {
      // Also catches obs-fold (a line starting with SP/HTAB) and whitespace before the colon.
      return bad('malformed header field')
    }
    const nameEnd = i
    i++
    while (i < lineEnd) {
      const c = text.charCodeAt(i)
      if ((c < SP && c !== HTAB) || c === 127) return bad('invalid character in a header field value')
      i++
    }
    const nameLength = nameEnd - lineStart
    if (nameLength !== 4 && nameLength !== 10 && nameLength !== 14 && nameLength !== 17) continue
    const name = text.slice(lineStart, nameEnd).toLowerCase()
    if (name === 'host') hosts++
    else if (name === 'content-length') {
      const value = text.slice(nameEnd + 1, lineEnd).trim()
      if (!/^[0-9]+$/.test(value)) return bad('malformed Content-Length')
      if (!/^0+$/.test(value)) return bad('request bodies are not accepted')
    } else if (name === 'transfer-encoding') return bad('request bodies are not accepted')
    else if (name === 'connection') {
      for (const token of text
        .slice(nameEnd + 1, lineEnd)
        .toLowerCase()
        .split(',')) {
        const option = token.trim()
        if (option === 'close') close = true
        else if (option === 'keep-alive') keepAliveToken = true
      }
    }
  }
  if (!http10 && hosts !== 1) return bad(hosts === 0 ? 'missing Host header' : 'more than one Host header')
  return {
    kind: 'head',
    method,
    target,
    http10,
    keepAlive: !close && (!http10 || keepAliveToken),
    end,
  }
}

/**
 * Whether `text` from `from` holds a line feed not preceded by a carriage return. The parser only looks for
 * CRLF CRLF; a client ending lines with bare LF would otherwise wait for the headers timeout.
 */
export function hasBareLineFeed(text: string, from: number): boolean {
  let i = text.indexOf('\n', from)
  while (i !== -1) {
    if (i === 0 || text.charCodeAt(i - 1) !== CR) return true
    i = text.indexOf('\n', i + 1)
  }
  return false
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}
