/**
 * The one hand-written JetStream path of this package, and why it exists.
 *
 * nats.js's `js.publish()` is a request per message — a promise, a timer and a mux-inbox lookup each —
 * and measured about 10,000 msg/s here, against ~100,000 msg/s for this publisher in the same run of
 * `npm run bench -- queue` (≥ 10×); nats.js has no counterpart of the Go client's `PublishAsync`. So
 * messages go out through the library's core `nc.publish()` with a reply subject `<inbox>.<n>` and a
 * `Nats-Msg-Id` header, one wildcard subscription settles them, one sweep timer fails the overdue, and a
 * batch shares one promise. The acknowledgements are decoded with `JSON.parse`, never by hand, so a
 * change of the server's format cannot be misread. Everything else (streams, consumers, fetch, acks of
 * deliveries) goes through `@nats-io/jetstream`.
 */
import type { Msg, NatsConnection } from '@nats-io/nats-core'
import type { DriverPubAck, DriverPublish, PublishSpec } from '../../driver.js'
import { QueueError } from '../../errors.js'
import { headers as createHeaders, createInbox } from './nats-client.js'

/** The stream refused the message: the server's description and, when it sent one, its JetStream error code. */
export interface PubAckError {
  error: string
  errCode?: number
}

const decoder = new TextDecoder()

/**
 * Decodes a JetStream publish acknowledgement: `{"stream":"s","seq":5}`, with `"duplicate":true` when
 * the message id was seen inside the window, or `{"error":{"err_code":…,"description":…}}`.
 */
export function decodePubAck(data: Uint8Array): DriverPubAck | PubAckError {
  let ack: {
    stream?: unknown
    seq?: unknown
    duplicate?: unknown
    error?: { description?: unknown; err_code?: unknown }
  } | null
  try {
    ack = JSON.parse(decoder.decode(data))
  } catch {
    return { error: 'unreadable acknowledgement' }
  }
  if (ack === null || typeof ack !== 'object') return { error: 'unreadable acknowledgement' }
  if (ack.error && typeof ack.error === 'object') {
    const error = typeof ack.error.description === 'string' ? ack.error.description : 'no description'
    return typeof ack.error.err_code === 'number' ? { error, errCode: ack.error.err_code } : { error }
  }
  if (typeof ack.seq !== 'number') return { error: 'acknowledgement without a sequence' }
  const stream = typeof ack.stream === 'string' ? ack.stream : ''
  return { stream, seq: ack.seq, duplicate: ack.duplicate === true }
}

/**
 * Publishes waiting for their acknowledgements together: one promise, settled when the last arrives.
 * A single publish is a group without `acks`, resolved with its one acknowledgement.
 */
interface Group {
  readonly acks: DriverPubAck[] | null
  remaining: number
  done: boolean
  /** A single publish: called with its acknowledgement. */
  readonly one: ((ack: DriverPubAck) => void) | null
  /** A batch: called with `acks` once all arrived. */
  readonly all: ((acks: DriverPubAck[]) => void) | null
  readonly reject: (err: QueueError) => void
}

/** One publish waiting for its acknowledgement: its group and its place in it. */
interface Waiting {
  readonly group: Group
  readonly index: number
  readonly subject: string
  readonly deadline: number
}

/**
 * Asynchronous JetStream publishing: every message goes out as a plain publish whose reply subject
 * is `<inbox>.<n>`, and one wildcard subscription settles the waiting publishes as the stream's
 * acknowledgements come back. Compared with a request per message (`js.publish`), there is no
 * per-message subscription, timer or inbox lookup, which is what lets one process keep thousands
 * of publishes in flight. A batch shares one promise across its messages (each still carries its own
 * message id and gets its own acknowledgement). One sweep timer fails the overdue ones.
 */
export class AsyncPublisher {
  readonly #nc: NatsConnection
  readonly #prefix: string
  readonly #waiting = new Map<number, Waiting>()
  readonly #timeoutMs: number
  readonly #sweep: NodeJS.Timeout
  #next = 0
  /** Single publishes waiting for this turn's check phase, and whether it is scheduled. */
  #pending: Array<{ group: Group; subject: string; data: Uint8Array; spec: PublishSpec; deadline: number }> =
    []
  #scheduled = false

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc
    this.#timeoutMs = timeoutMs
    this.#prefix = createInbox()
    nc.subscribe(`${this.#prefix}.*`, { callback: (_err, msg) => this.#settle(msg) })
    this.#sweep = setInterval(() => this.#expire(), Math.min(250, timeoutMs)).unref()
  }

  /**
   * Publishes one message. It goes out with every other single publish of this turn of the event
   * loop, at its check phase (`setImmediate`): nats.js writes what one macrotask queued in one socket
   * write, but publishes made by separate requests, each in its own macrotask, cost one write each —
   * a tenth of a server's CPU in a compose burst here. The wait is the rest of the current turn.
   */
  publish(subject: string, data: Uint8Array, spec: PublishSpec): Promise<DriverPubAck> {
    return new Promise<DriverPubAck>((resolve, reject) => {
      const group: Group = { acks: null, remaining: 1, done: false, one: resolve, all: null, reject }
      this.#pending.push({ group, subject, data, spec, deadline: Date.now() + this.#timeoutMs })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(this.#flush)
      }
    })
  }

  /** Sends the single publishes queued during this turn of the event loop, in order. */
  readonly #flush = (): void => {
    this.#scheduled = false
    const pending = this.#pending
    this.#pending = []
    for (const p of pending) this.#send(p.group, 0, p.subject, p.data, p.spec, p.deadline)
  }

  /**
   * Sends every message at once and resolves with their acknowledgements, in order. Rejects on the
   * first message the stream refuses or does not acknowledge in time; the others may be stored, and a
   * retry with the same message ids is deduplicated.
   */
  publishBatch(messages: readonly DriverPublish[]): Promise<DriverPubAck[]> {
    if (messages.length === 0) return Promise.resolve([])
    return new Promise<DriverPubAck[]>((resolve, reject) => {
      const group: Group = {
        acks: new Array(messages.length),
        remaining: messages.length,
        done: false,
        one: null,
        all: resolve,
        reject,
      }
      const deadline = Date.now() + this.#timeoutMs
      for (let index = 0; index < messages.length; index++) {
        const { subject, data, spec } = messages[index] as DriverPublish
        if (!this.#send(group, index, subject, data, spec, deadline)) return
      }
    })
  }

  /** Publishes one message of `group`; false (and the group failed) when the connection refused it. */
  #send(
    group: Group,
    index: number,
    subject: string,
    data: Uint8Array,
    spec: PublishSpec,
    deadline: number,
  ): boolean {
    const token = this.#next++
    this.#waiting.set(token, { group, index, subject, deadline })
    try {
      this.#nc.publish(subject, data, { reply: `${this.#prefix}.${token}`, ...headersOf(spec) })
      return true
    } catch (err) {
      this.#waiting.delete(token)
      this.#fail(
        group,
        new QueueError('E_PUBLISH', `publish to ${subject} failed`, {
          cause: err,
          context: { subject, index },
        }),
      )
      return false
    }
  }

  /** Resolves once no publish waits for its acknowledgement (or after the publish timeout). */
  async idle(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    while ((this.#waiting.size > 0 || this.#pending.length > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10))
  }

  /** Fails every waiting publish (the connection is closing). */
  close(): void {
    clearInterval(this.#sweep)
    const unsent = this.#pending
    this.#pending = []
    for (const p of unsent) {
      this.#fail(
        p.group,
        new QueueError('E_CLOSED', 'connection closed before the message was sent', {
          context: { subject: p.subject },
        }),
      )
    }
    for (const [token, w] of this.#waiting) {
      this.#waiting.delete(token)
      this.#fail(
        w.group,
        new QueueError('E_CLOSED', 'connection closed before the stream acknowledged', {
          context: { subject: w.subject },
        }),
      )
    }
  }

  #settle(msg: Msg): void {
    const token = Number(msg.subject.slice(this.#prefix.length + 1))
    const w = this.#waiting.get(token)
    if (!w) return
    this.#waiting.delete(token)
    const { group, index, subject } = w
    if (group.done) return
    if ((msg.headers?.code ?? 0) === 503) {
      this.#fail(
        group,
        new QueueError('E_NO_STREAM', `no stream stores subject ${subject}`, { context: { subject, index } }),
      )
      return
    }
    const ack = decodePubAck(msg.data)
    if ('error' in ack) {
      this.#fail(group, refusal(ack, subject, index))
      return
    }
    if (group.acks === null) {
      group.done = true
      group.one?.(ack)
      return
    }
    group.acks[index] = ack
    if (--group.remaining === 0) {
      group.done = true
      group.all?.(group.acks)
    }
  }

  #fail(group: Group, err: QueueError): void {
    if (group.done) return
    group.done = true
    group.reject(err)
  }

  #expire(): void {
    const now = Date.now()
    for (const [token, w] of this.#waiting) {
      if (w.deadline > now) continue
      this.#waiting.delete(token)
      // Not acknowledged is not "not stored": the caller retries with the same id, and dedupe decides.
      this.#fail(
        w.group,
        new QueueError('E_PUBLISH', `no acknowledgement from the stream within ${this.#timeoutMs} ms`, {
          context: { subject: w.subject, index: w.index },
        }),
      )
    }
  }
}

function headersOf(spec: PublishSpec): { headers?: ReturnType<typeof createHeaders> } {
  if (spec.msgId === undefined && spec.headers === undefined) return {}
  const headers = createHeaders()
  if (spec.msgId !== undefined) headers.set('Nats-Msg-Id', spec.msgId)
  if (spec.headers) for (const k in spec.headers) headers.set(k, spec.headers[k] as string)
  return { headers }
}

/** JetStream's "stream store failed" (its description says which limit) and "insufficient resources". */
const STORE_FAILED = 10077
const INSUFFICIENT_RESOURCES = 10023

/**
 * The error for an acknowledgement that refuses the message. A stream at its limit with discard new
 * answers 10077 `maximum messages exceeded` / `maximum bytes exceeded`; a server out of JetStream storage
 * answers 10023. Neither stored the message, and a retry only helps once there is room: `E_STREAM_FULL`.
 */
export function refusal(ack: PubAckError, subject: string, index: number): QueueError {
  const context = { subject, index, error: ack.error }
  let limit: 'maxBytes' | 'maxMessages' | 'storage' | undefined
  if (ack.errCode === STORE_FAILED && /maximum bytes/i.test(ack.error)) limit = 'maxBytes'
  else if (ack.errCode === STORE_FAILED && /maximum messages/i.test(ack.error)) limit = 'maxMessages'
  else if (ack.errCode === INSUFFICIENT_RESOURCES) limit = 'storage'
  if (limit === undefined) {
    return new QueueError('E_PUBLISH', `stream rejected the message: ${ack.error}`, { context })
  }
  return new QueueError('E_STREAM_FULL', `stream is full (${ack.error}); the message was not stored`, {
    context: { ...context, limit },
  })
}
