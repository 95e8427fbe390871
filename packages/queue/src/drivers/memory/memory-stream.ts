import type { ConsumerSpec, StreamInfo, StreamSpec } from '../../driver.js'
import { QueueError } from '../../errors.js'

export interface Stored {
  seq: number
  subject: string
  data: Uint8Array
  headers: Record<string, string>
  /** When it was stored (for `maxAgeMs`). */
  at: number
  /** What it counts against `maxBytes`. */
  size: number
}

export interface InFlight {
  deliveries: number
  dueAt: number
}

export interface MemConsumer {
  spec: ConsumerSpec
  nextSeq: number
  inflight: Map<number, InFlight>
}

/** One stream of the in-process broker: its messages in sequence order, with their byte total. */
export interface MemStream {
  spec: StreamSpec
  messages: Map<number, Stored>
  bytes: number
  lastSeq: number
  dedupe: Map<string, { seq: number; at: number }>
  consumers: Map<string, MemConsumer>
  wakers: Set<() => void>
}

/**
 * What a message counts against `maxBytes`: payload, subject and headers as sent on the wire, plus
 * the 30 bytes JetStream's file store adds to each record — so a limit means about the same on both.
 */
export function storedSize(subject: string, data: Uint8Array, headers: Record<string, string>): number {
  let size = 30 + subject.length + data.length
  const names = Object.keys(headers)
  if (names.length > 0) {
    size += 12 // NATS/1.0\r\n … \r\n
    for (const name of names) size += name.length + (headers[name] as string).length + 4
  }
  return size
}

/**
 * With `discard: 'new'`, refuses a message the stream has no room for (`E_STREAM_FULL`): what it
 * acknowledged stays. With `discard: 'old'`, room is made after storing, by `enforceLimits`.
 */
export function checkRoom(stream: MemStream, subject: string, size: number): void {
  const { spec } = stream
  if (spec.discard !== 'new') return
  const limit =
    stream.messages.size + 1 > spec.maxMessages
      ? 'maxMessages'
      : stream.bytes + size > spec.maxBytes
        ? 'maxBytes'
        : undefined
  if (limit === undefined) return
  throw new QueueError(
    'E_STREAM_FULL',
    `stream ${spec.name} is full (${limit}); the message was not stored`,
    {
      context: { stream: spec.name, subject, limit },
    },
  )
}

/** Removes expired messages, then the oldest while the stream is over a limit (as JetStream does). */
export function enforceLimits(stream: MemStream, now: number): void {
  const { maxAgeMs, maxMessages, maxBytes } = stream.spec
  for (const m of stream.messages.values()) {
    const over = stream.messages.size > maxMessages || stream.bytes > maxBytes
    if (!over && m.at + maxAgeMs > now) break
    removeMessage(stream, m.seq)
  }
}

/** Deletes one message and whatever deliveries of it are in flight. */
export function removeMessage(stream: MemStream, seq: number): void {
  const m = stream.messages.get(seq)
  if (!m) return
  stream.messages.delete(seq)
  stream.bytes -= m.size
  for (const c of stream.consumers.values()) c.inflight.delete(seq)
}

export function infoOf(stream: MemStream): StreamInfo {
  let firstSeq = 0
  for (const seq of stream.messages.keys()) {
    firstSeq = seq
    break
  }
  const { name: _name, subjects: _subjects, ...config } = stream.spec
  return { messages: stream.messages.size, bytes: stream.bytes, firstSeq, lastSeq: stream.lastSeq, config }
}

/** Whether two consumer filters (`<stream>.<n>` or `<stream>.*`) can match one subject. */
export function overlaps(a: string, b: string): boolean {
  return matches(a, b) || matches(b, a)
}

export function matches(filter: string, subject: string): boolean {
  if (filter === subject) return true
  if (!filter.endsWith('.*')) return false
  const prefix = filter.slice(0, -1)
  return subject.startsWith(prefix) && !subject.slice(prefix.length).includes('.')
}
