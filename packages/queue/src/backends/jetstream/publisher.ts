import { headers as createHeaders, createInbox, type Msg, type NatsConnection } from '@nats-io/nats-core'
import type { DriverPubAck, PublishSpec } from '../../driver.js'
import { QueueError } from '../../errors.js'

interface Waiting {
  resolve: (ack: DriverPubAck) => void
  reject: (err: QueueError) => void
  deadline: number
  subject: string
}

/**
 * Asynchronous JetStream publishing: every message goes out as a plain publish whose reply subject
 * is `<inbox>.<n>`, and one wildcard subscription settles the waiting promises as the stream's
 * acknowledgements come back. Compared with a request per message (`js.publish`), there is no
 * per-message subscription, timer or inbox lookup, which is what lets one process keep thousands
 * of publishes in flight. One sweep timer fails the overdue ones.
 */
export class AsyncPublisher {
  readonly #nc: NatsConnection
  readonly #prefix: string
  readonly #waiting = new Map<string, Waiting>()
  readonly #timeoutMs: number
  readonly #sweep: NodeJS.Timeout
  #next = 0

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc
    this.#timeoutMs = timeoutMs
    this.#prefix = createInbox()
    nc.subscribe(`${this.#prefix}.*`, { callback: (_err, msg) => this.#settle(msg) })
    this.#sweep = setInterval(() => this.#expire(), Math.min(250, timeoutMs)).unref()
  }

  publish(subject: string, data: Uint8Array, spec: PublishSpec): Promise<DriverPubAck> {
    let headers: ReturnType<typeof createHeaders> | undefined
    if (spec.msgId !== undefined) {
      headers = createHeaders()
      headers.set('Nats-Msg-Id', spec.msgId)
    }
    if (spec.headers) {
      for (const k in spec.headers) {
        headers ??= createHeaders()
        headers.set(k, spec.headers[k]!)
      }
    }
    const token = String(this.#next++)
    return new Promise<DriverPubAck>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, deadline: Date.now() + this.#timeoutMs, subject })
      try {
        this.#nc.publish(subject, data, {
          reply: `${this.#prefix}.${token}`,
          ...(headers ? { headers } : {}),
        })
      } catch (err) {
        this.#waiting.delete(token)
        reject(
          new QueueError('E_PUBLISH', `publish to ${subject} failed`, { cause: err, context: { subject } }),
        )
      }
    })
  }

  /** Resolves once no publish waits for its acknowledgement (or after the publish timeout). */
  async idle(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    while (this.#waiting.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  }

  /** Fails every waiting publish (the connection is closing). */
  close(): void {
    clearInterval(this.#sweep)
    for (const [token, w] of this.#waiting) {
      this.#waiting.delete(token)
      w.reject(
        new QueueError('E_CLOSED', 'connection closed before the stream acknowledged', {
          context: { subject: w.subject },
        }),
      )
    }
  }

  #settle(msg: Msg): void {
    const token = msg.subject.slice(this.#prefix.length + 1)
    const w = this.#waiting.get(token)
    if (!w) return
    this.#waiting.delete(token)
    const status = msg.headers?.code ?? 0
    if (status === 503) {
      w.reject(
        new QueueError('E_NO_STREAM', `no stream stores subject ${w.subject}`, {
          context: { subject: w.subject },
        }),
      )
      return
    }
    try {
      const ack = msg.json<{
        stream?: string
        seq?: number
        duplicate?: boolean
        error?: { description?: string }
      }>()
      if (ack.error || ack.seq === undefined) {
        w.reject(
          new QueueError(
            'E_PUBLISH',
            `stream rejected the message: ${ack.error?.description ?? 'no sequence'}`,
            {
              context: { subject: w.subject, error: ack.error },
            },
          ),
        )
        return
      }
      w.resolve({ stream: ack.stream ?? '', seq: ack.seq, duplicate: ack.duplicate === true })
    } catch (err) {
      w.reject(
        new QueueError('E_PUBLISH', 'unreadable acknowledgement', {
          cause: err,
          context: { subject: w.subject },
        }),
      )
    }
  }

  #expire(): void {
    const now = Date.now()
    for (const [token, w] of this.#waiting) {
      if (w.deadline > now) continue
      this.#waiting.delete(token)
      // Not acknowledged is not "not stored": the caller retries with the same id, and dedupe decides.
      w.reject(
        new QueueError('E_PUBLISH', `no acknowledgement from the stream within ${this.#timeoutMs} ms`, {
          context: { subject: w.subject },
        }),
      )
    }
  }
}
