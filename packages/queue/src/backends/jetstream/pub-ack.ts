import type { DriverPubAck } from '../../driver.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Reads a JetStream publish acknowledgement (`{"stream":"s", "seq":5}`, `"duplicate": true` when the
 * message id was seen inside the window, or `{"error":{…}}`; the server puts spaces where it likes).
 *
 * One of these arrives per published message, so the usual shape — a flat object of plain strings,
 * integers and booleans — is scanned straight from the bytes: at 100 k messages/s, decoding each to
 * a string for `JSON.parse` is a measurable share of the publisher's CPU. Anything else (an error,
 * escapes, nesting) goes through `JSON.parse`.
 */
export function readPubAck(data: Uint8Array): DriverPubAck | { error: string } {
  return scanFlat(data) ?? readAnyShape(data)
}

/** The stream name decoded last: acknowledgements of one stream repeat it, so it is reused. */
let lastName = ''
let lastNameBytes = new Uint8Array(0)

function scanFlat(b: Uint8Array): DriverPubAck | undefined {
  let i = skip(b, 0)
  if (b[i++] !== 0x7b) return undefined // {
  let stream: string | undefined
  let seq: number | undefined
  let duplicate = false
  for (;;) {
    i = skip(b, i)
    if (b[i] === 0x7d) break // }
    if (b[i++] !== QUOTE) return undefined
    const keyStart = i
    while (i < b.length && b[i] !== QUOTE && b[i] !== BACKSLASH) i++
    if (b[i] !== QUOTE) return undefined
    const keyEnd = i++
    i = skip(b, i)
    if (b[i++] !== 0x3a) return undefined // :
    i = skip(b, i)
    const c = b[i]
    if (c === QUOTE) {
      const start = ++i
      while (i < b.length && b[i] !== QUOTE && b[i] !== BACKSLASH) i++
      if (b[i] !== QUOTE) return undefined
      if (isKey(b, keyStart, keyEnd, 'stream')) stream = nameOf(b, start, i)
      i++
    } else if (c !== undefined && c >= 0x30 && c <= 0x39) {
      let n = 0
      const start = i
      for (let d = b[i]; d !== undefined && d >= 0x30 && d <= 0x39; d = b[++i]) n = n * 10 + d - 0x30
      if (i - start > 15) return undefined // past 10^15 the sum may round: JSON.parse decides
      if (isKey(b, keyStart, keyEnd, 'seq')) seq = n
    } else if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) {
      if (isKey(b, keyStart, keyEnd, 'duplicate')) duplicate = true
      i += 4
    } else if (
      c === 0x66 &&
      b[i + 1] === 0x61 &&
      b[i + 2] === 0x6c &&
      b[i + 3] === 0x73 &&
      b[i + 4] === 0x65
    ) {
      i += 5
    } else return undefined // an object (an error), null, a negative number, …
    i = skip(b, i)
    if (b[i] === 0x2c)
      i++ // ,
    else if (b[i] !== 0x7d) return undefined
  }
  if (stream === undefined || seq === undefined) return undefined
  return { stream, seq, duplicate }
}

function skip(b: Uint8Array, at: number): number {
  let i = at
  for (let c = b[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++i]);
  return i
}

function isKey(b: Uint8Array, start: number, end: number, key: string): boolean {
  if (end - start !== key.length) return false
  for (let i = 0; i < key.length; i++) if (b[start + i] !== key.charCodeAt(i)) return false
  return true
}

function nameOf(b: Uint8Array, start: number, end: number): string {
  const length = end - start
  let same = length === lastNameBytes.length
  for (let i = 0; same && i < length; i++) same = b[start + i] === lastNameBytes[i]
  if (same) return lastName
  lastNameBytes = b.slice(start, end)
  lastName = new TextDecoder().decode(lastNameBytes)
  return lastName
}

function readAnyShape(data: Uint8Array): DriverPubAck | { error: string } {
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { description?: string } }
  try {
    ack = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return { error: 'unreadable acknowledgement' }
  }
  if (ack === null || typeof ack !== 'object') return { error: 'unreadable acknowledgement' }
  if (ack.error) return { error: ack.error.description ?? 'no description' }
  if (typeof ack.seq !== 'number') return { error: 'acknowledgement without a sequence' }
  return { stream: ack.stream ?? '', seq: ack.seq, duplicate: ack.duplicate === true }
}
