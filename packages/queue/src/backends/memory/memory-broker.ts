import type {
  ConsumerInfo,
  ConsumerSpec,
  DriverMessage,
  DriverPubAck,
  FetchSpec,
  PublishSpec,
  StreamInfo,
  StreamSpec,
} from '../../driver.js'
import { abortError, QueueError } from '../../errors.js'
import { ID_HEADER } from '../../message.js'

interface Stored {
  seq: number
  subject: string
  data: Uint8Array
  headers: Record<string, string>
}

interface InFlight {
  deliveries: number
  dueAt: number
}

interface MemConsumer {
  spec: ConsumerSpec
  nextSeq: number
  inflight: Map<number, InFlight>
}

interface MemStream {
  spec: StreamSpec
  messages: Map<number, Stored>
  lastSeq: number
  dedupe: Map<string, { seq: number; at: number }>
  consumers: Map<string, MemConsumer>
  wakers: Set<() => void>
}

/**
 * The state of an in-process broker: streams, dedupe windows, consumers and their deliveries,
 * with JetStream's semantics (at-least-once, redelivery after ack wait or backoff, nak delays).
 * Several `memoryDriver({ broker })` connections may share one, like clients of one server.
 * Memory only: nothing survives the process.
 */
export class MemoryBroker {
  readonly #streams = new Map<string, MemStream>()

  ensureStream(spec: StreamSpec): void {
    for (const [name, other] of this.#streams) {
      if (name === spec.name) continue
      const clash = spec.subjects.find((s) => other.spec.subjects.includes(s))
      if (clash) throw new QueueError('E_BROKER', `subject ${clash} already belongs to stream ${name}`)
    }
    const existing = this.#streams.get(spec.name)
    if (existing) {
      existing.spec = { ...spec, subjects: [...spec.subjects] }
      return
    }
    this.#streams.set(spec.name, {
      spec: { ...spec, subjects: [...spec.subjects] },
      messages: new Map(),
      lastSeq: 0,
      dedupe: new Map(),
      consumers: new Map(),
      wakers: new Set(),
    })
  }

  deleteStream(name: string): boolean {
    const stream = this.#streams.get(name)
    if (!stream) return false
    this.#streams.delete(name)
    wake(stream)
    return true
  }

  streamInfo(name: string): StreamInfo {
    const s = this.#stream(name)
    let firstSeq = 0
    for (const seq of s.messages.keys()) {
      firstSeq = seq
      break
    }
    return { messages: s.messages.size, firstSeq, lastSeq: s.lastSeq }
  }

  publish(subject: string, data: Uint8Array, options: PublishSpec): DriverPubAck {
    const stream = [...this.#streams.values()].find((s) => s.spec.subjects.includes(subject))
    if (!stream)
      throw new QueueError('E_NO_STREAM', `no stream stores subject ${subject}`, { context: { subject } })
    const now = Date.now()
    for (const [id, entry] of stream.dedupe) {
      if (entry.at + stream.spec.duplicateWindowMs > now) break
      stream.dedupe.delete(id)
    }
    if (options.msgId !== undefined) {
      const seen = stream.dedupe.get(options.msgId)
      if (seen) return { stream: stream.spec.name, seq: seen.seq, duplicate: true }
    }
    const seq = ++stream.lastSeq
    const headers = { ...options.headers }
    if (options.msgId !== undefined) {
      headers[ID_HEADER] = options.msgId
      stream.dedupe.set(options.msgId, { seq, at: now })
    }
    stream.messages.set(seq, { seq, subject, data: data.slice(), headers })
    wake(stream)
    return { stream: stream.spec.name, seq, duplicate: false }
  }

  ensureConsumer(streamName: string, spec: ConsumerSpec): void {
    const stream = this.#stream(streamName)
    const existing = stream.consumers.get(spec.durable)
    if (existing) existing.spec = { ...spec, backoffMs: [...spec.backoffMs] }
    else stream.consumers.set(spec.durable, { spec: { ...spec }, nextSeq: 1, inflight: new Map() })
  }

  deleteConsumer(streamName: string, durable: string): boolean {
    return this.#stream(streamName).consumers.delete(durable)
  }

  consumerInfo(streamName: string, durable: string): ConsumerInfo {
    const stream = this.#stream(streamName)
    const c = this.#consumer(stream, durable)
    let pending = 0
    for (let seq = c.nextSeq; seq <= stream.lastSeq; seq++) {
      const m = stream.messages.get(seq)
      if (m && m.subject === c.spec.filterSubject) pending++
      else if (m && matches(c.spec.filterSubject, m.subject)) pending++
    }
    let redelivered = 0
    for (const f of c.inflight.values()) if (f.deliveries > 1) redelivered++
    return { pending, ackPending: c.inflight.size, redelivered }
  }

  /** Due redeliveries first (by sequence), then new messages, up to `max`; waits up to `expiresMs`. */
  async fetch(
    streamName: string,
    durable: string,
    spec: FetchSpec,
    signal?: AbortSignal,
  ): Promise<DriverMessage[]> {
    const deadline = Date.now() + spec.expiresMs
    for (;;) {
      if (signal?.aborted) throw abortError(signal, { consumer: durable })
      const stream = this.#stream(streamName)
      const c = this.#consumer(stream, durable)
      const out = this.#take(stream, c, spec.max)
      if (out.length > 0) return out
      const now = Date.now()
      if (now >= deadline) return []
      let until = deadline
      for (const f of c.inflight.values()) until = Math.min(until, f.dueAt)
      await waitFor(stream, Math.max(1, until - now), signal)
    }
  }

  #take(stream: MemStream, c: MemConsumer, max: number): DriverMessage[] {
    const now = Date.now()
    const out: DriverMessage[] = []
    const due = [...c.inflight].filter(([, f]) => f.dueAt <= now).sort((a, b) => a[0] - b[0])
    for (const [seq, f] of due) {
      if (out.length >= max) break
      const m = stream.messages.get(seq)
      if (!m) {
        c.inflight.delete(seq)
        continue
      }
      f.deliveries++
      f.dueAt = now + redeliveryDelay(c.spec, f.deliveries)
      out.push(this.#delivery(stream, c, m, f.deliveries))
    }
    while (out.length < max && c.inflight.size < c.spec.maxAckPending && c.nextSeq <= stream.lastSeq) {
      const m = stream.messages.get(c.nextSeq++)
      if (!m || !matches(c.spec.filterSubject, m.subject)) continue
      c.inflight.set(m.seq, { deliveries: 1, dueAt: now + redeliveryDelay(c.spec, 1) })
      out.push(this.#delivery(stream, c, m, 1))
    }
    return out
  }

  #delivery(stream: MemStream, c: MemConsumer, m: Stored, deliveries: number): DriverMessage {
    const settle = (delayMs: number | undefined) => {
      const f = c.inflight.get(m.seq)
      if (!f || f.deliveries !== deliveries) return // a stale delivery: a newer one owns the message
      if (delayMs === undefined) c.inflight.delete(m.seq)
      else f.dueAt = Date.now() + delayMs
      wake(stream)
    }
    return {
      subject: m.subject,
      data: m.data,
      headers: { ...m.headers },
      seq: m.seq,
      deliveries,
      ack: () => settle(undefined),
      nak: (delayMs) => settle(delayMs ?? redeliveryDelay(c.spec, deliveries)),
      term: () => settle(undefined),
    }
  }

  #stream(name: string): MemStream {
    const s = this.#streams.get(name)
    if (!s) throw new QueueError('E_NO_STREAM', `stream ${name} not found`, { context: { stream: name } })
    return s
  }

  #consumer(stream: MemStream, durable: string): MemConsumer {
    const c = stream.consumers.get(durable)
    if (!c) {
      throw new QueueError('E_NO_CONSUMER', `consumer ${durable} not found`, {
        context: { stream: stream.spec.name, consumer: durable },
      })
    }
    return c
  }
}

/** JetStream's rule: with backoff, redelivery n waits backoff[n-1] (the last repeats); else ack wait. */
function redeliveryDelay(spec: ConsumerSpec, deliveries: number): number {
  if (spec.backoffMs.length === 0) return spec.ackWaitMs
  return spec.backoffMs[Math.min(deliveries, spec.backoffMs.length) - 1]!
}

function matches(filter: string, subject: string): boolean {
  if (filter === subject) return true
  if (!filter.endsWith('.*')) return false
  const prefix = filter.slice(0, -1)
  return subject.startsWith(prefix) && !subject.slice(prefix.length).includes('.')
}

function wake(stream: MemStream): void {
  const wakers = [...stream.wakers]
  stream.wakers.clear()
  for (const w of wakers) w()
}

function waitFor(stream: MemStream, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      stream.wakers.delete(done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    stream.wakers.add(done)
    signal?.addEventListener('abort', done, { once: true })
  })
}
