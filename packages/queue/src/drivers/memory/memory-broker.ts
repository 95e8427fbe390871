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
import { checkFixedSettings } from '../../stream-options.js'
import {
  checkRoom,
  enforceLimits,
  infoOf,
  type MemConsumer,
  type MemStream,
  matches,
  overlaps,
  removeMessage,
  type Stored,
  storedSize,
} from './memory-stream.js'

/**
 * The state of an in-process broker: streams, dedupe windows, consumers and their deliveries,
 * with JetStream's semantics (at-least-once, redelivery after ack wait or backoff, nak delays,
 * `maxAgeMs` / `maxBytes` / `maxMessages` with discard new or old, `workqueue` retention).
 * Several `memoryDriver({ broker })` connections may share one, like clients of one server.
 * Memory only: nothing survives the process (`storage` and `replicas` are recorded, not honoured).
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
      checkFixedSettings(spec, existing.spec)
      existing.spec = { ...spec, subjects: [...spec.subjects] }
      enforceLimits(existing, Date.now()) // lower limits apply at once, as on JetStream
      return
    }
    this.#streams.set(spec.name, {
      spec: { ...spec, subjects: [...spec.subjects] },
      messages: new Map(),
      bytes: 0,
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
    enforceLimits(s, Date.now())
    return infoOf(s)
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
    enforceLimits(stream, now)
    const headers = { ...options.headers }
    if (options.msgId !== undefined) headers[ID_HEADER] = options.msgId
    const size = storedSize(subject, data, headers)
    checkRoom(stream, subject, size)
    const seq = ++stream.lastSeq
    if (options.msgId !== undefined) stream.dedupe.set(options.msgId, { seq, at: now })
    stream.messages.set(seq, { seq, subject, data: data.slice(), headers, at: now, size })
    stream.bytes += size
    enforceLimits(stream, now) // discard old: make room by dropping the oldest
    wake(stream)
    return { stream: stream.spec.name, seq, duplicate: false }
  }

  ensureConsumer(streamName: string, spec: ConsumerSpec): void {
    const stream = this.#stream(streamName)
    const existing = stream.consumers.get(spec.durable)
    if (!existing && stream.spec.retention === 'workqueue') {
      for (const other of stream.consumers.values()) {
        if (!overlaps(other.spec.filterSubject, spec.filterSubject)) continue
        // JetStream's rule and words: each message of a work queue has one consumer.
        throw new QueueError('E_BROKER', 'filtered consumer not unique on workqueue stream', {
          context: { stream: streamName, consumer: spec.durable, overlaps: other.spec.durable },
        })
      }
    }
    if (existing) existing.spec = { ...spec, backoffMs: [...spec.backoffMs] }
    else stream.consumers.set(spec.durable, { spec: { ...spec }, nextSeq: 1, inflight: new Map() })
  }

  deleteConsumer(streamName: string, durable: string): boolean {
    return this.#stream(streamName).consumers.delete(durable)
  }

  consumerInfo(streamName: string, durable: string): ConsumerInfo {
    const stream = this.#stream(streamName)
    const c = this.#consumer(stream, durable)
    enforceLimits(stream, Date.now())
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
    enforceLimits(stream, now)
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
      if (delayMs === undefined) {
        c.inflight.delete(m.seq)
        if (stream.spec.retention === 'workqueue') removeMessage(stream, m.seq) // done: off the queue
      } else f.dueAt = Date.now() + delayMs
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
