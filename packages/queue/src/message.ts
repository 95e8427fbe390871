import type { DriverMessage } from './driver.js'

/** Header carrying the partition key; the broker's `Nats-Msg-Id` carries the message id. */
export const KEY_HEADER = 'hf-key'
export const ID_HEADER = 'Nats-Msg-Id'

/**
 * One delivered message. Acknowledge it with `ack()` once its effect is durable; `nak()` asks for a
 * redelivery after the consumer's backoff. Deliveries are at least once: handlers must be idempotent.
 *
 * @example
 * for (const msg of await consumer.fetch({ max: 100 })) { await save(msg.json()); msg.ack() }
 */
export class QueueMessage {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers: Readonly<Record<string, string>>
  /** Stream sequence: the order the broker stored it in. */
  readonly seq: number
  /** 1 on the first delivery, then 2, 3, … */
  readonly deliveries: number
  /** The partition (`<stream>.<partition>`). */
  readonly partition: number
  readonly #raw: DriverMessage
  readonly #backoff: (deliveries: number) => number
  #settled = false

  /** @internal built by `Consumer`. */
  constructor(raw: DriverMessage, backoff: (deliveries: number) => number) {
    this.#raw = raw
    this.#backoff = backoff
    this.subject = raw.subject
    this.data = raw.data
    this.headers = Object.freeze({ ...raw.headers })
    this.seq = raw.seq
    this.deliveries = raw.deliveries
    this.partition = Number(raw.subject.slice(raw.subject.lastIndexOf('.') + 1))
  }

  /** The key it was published with, when the stream has `keyHeader: true`. */
  get key(): string | undefined {
    return this.headers[KEY_HEADER]
  }

  /** The message id it was published with (the dedupe key), if any. */
  get id(): string | undefined {
    return this.headers[ID_HEADER]
  }

  /** True once acked, naked or terminated through this object. */
  get settled(): boolean {
    return this.#settled
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return decoder.decode(this.data)
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T
  }

  /** Done: never redelivered to this consumer. */
  ack(): void {
    if (this.#settle()) this.#raw.ack()
  }

  /** Not done: redelivered after `delayMs` (default: the consumer's backoff for this delivery). */
  nak(delayMs: number = this.#backoff(this.deliveries)): void {
    if (this.#settle()) this.#raw.nak(delayMs)
  }

  /** Never redeliver, without processing (the dead-letter path uses this after republishing). */
  term(): void {
    if (this.#settle()) this.#raw.term()
  }

  #settle(): boolean {
    if (this.#settled) return false
    this.#settled = true
    return true
  }
}

const decoder = new TextDecoder()
