import { setTimeout as delay } from 'node:timers/promises'
import {
  type FetchOptions,
  positiveInt,
  type ResolvedConsumerOptions,
  type RunOptions,
} from './consumer-options.js'
import { DEAD_LETTER_HEADERS } from './dead-letter.js'
import type { DriverMessage, QueueDriver } from './driver.js'
import { abortable, QueueError, throwIfAborted } from './errors.js'
import { ID_HEADER, QueueMessage } from './message.js'
import type { StreamRef } from './stream-ref.js'

/** A consumer's backlog: the gauge to alert and shed load on. */
export interface ConsumerStats {
  /** Stored, matching, not yet delivered. */
  pending: number
  /** Delivered, not yet acknowledged (in flight or waiting for redelivery). */
  ackPending: number
  /** Unacknowledged messages delivered more than once. */
  redelivered: number
  /** `pending + ackPending`: messages this consumer still has to finish (its lag). */
  backlog: number
}

/** A message handler: resolve to acknowledge, throw to retry (then dead-letter). */
export type Handler = (message: QueueMessage, signal: AbortSignal) => Promise<void> | void

/**
 * A durable pull consumer. Either `fetch()` batches and settle each message yourself, or `run()` a
 * handler that acks on success, retries with backoff on failure and dead-letters after
 * `maxDeliveries`.
 *
 * @example
 * const consumer = await posts.consumer({ name: 'fanout', partition: 0, maxDeliveries: 5 })
 * const done = consumer.run(async (msg) => { await fanOut(msg.json()) })
 * // on shutdown:
 * await consumer.drain(); await done
 */
export class Consumer {
  /** The stream it reads (a `Stream`). */
  readonly stream: StreamRef
  /** The broker's durable name. */
  readonly durable: string
  readonly options: ResolvedConsumerOptions
  readonly #driver: QueueDriver
  readonly #untrack: () => void
  #stop: AbortController | undefined
  #running: Promise<void> | undefined

  /** @internal built by `stream.consumer()`. */
  constructor(
    driver: QueueDriver,
    stream: StreamRef,
    durable: string,
    options: ResolvedConsumerOptions,
    track: (consumer: Consumer) => () => void,
  ) {
    this.#driver = driver
    this.stream = stream
    this.durable = durable
    this.options = options
    this.#untrack = track(this)
  }

  /**
   * Up to `max` messages: new ones in stream order, redeliveries mixed in (the broker decides
   * where). Resolves as soon as some are available, or empty after `expiresMs`. Messages already delivered
   * `maxDeliveries` times are dead-lettered here instead of being returned.
   */
  async fetch(options: FetchOptions = {}, signal?: AbortSignal): Promise<QueueMessage[]> {
    const max = options.max ?? 100
    const expiresMs = options.expiresMs ?? 1000
    positiveInt(max, 'options.max')
    positiveInt(expiresMs, 'options.expiresMs')
    throwIfAborted(signal, { consumer: this.durable })
    const raw = await this.#driver.fetch(this.stream.name, this.durable, { max, expiresMs }, signal)
    const out: QueueMessage[] = []
    for (const m of raw) {
      if (m.deliveries > this.options.maxDeliveries) {
        // Failed (or its consumer died) on the last allowed delivery: never lose it, park it.
        await this.#deadLetter(m, 'max deliveries exceeded without acknowledgement', signal)
        continue
      }
      out.push(new QueueMessage(m, this.#backoff))
    }
    return out
  }

  /**
   * Settles a message whose processing failed: redelivered after the backoff, or republished to the
   * dead-letter stream (then terminated) when this was its last allowed delivery.
   */
  async fail(message: QueueMessage, error: unknown, signal?: AbortSignal): Promise<void> {
    if (message.settled) return
    if (message.deliveries < this.options.maxDeliveries) {
      message.nak()
      return
    }
    await this.#deadLetter(
      {
        subject: message.subject,
        data: message.data,
        headers: { ...message.headers },
        seq: message.seq,
        deliveries: message.deliveries,
        ack: () => {},
        nak: () => {},
        term: () => {},
      },
      error instanceof Error ? error.message : String(error),
      signal,
    )
    message.term()
  }

  /**
   * Fetches batches and calls `handler` for each message, one at a time in stream order (so
   * per-key order holds within a partition). Resolves after `drain()` or the signal stops it.
   */
  run(handler: Handler, options: RunOptions = {}): Promise<void> {
    if (this.#running) throw new QueueError('E_INVALID_OPTION', 'consumer is already running', this.#ctx())
    const stop = new AbortController()
    this.#stop = stop
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
    this.#running = this.#loop(handler, options, signal).finally(() => {
      this.#running = undefined
      this.#stop = undefined
    })
    return this.#running
  }

  async #loop(handler: Handler, options: FetchOptions, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let batch: QueueMessage[]
      try {
        batch = await this.fetch(options, signal)
      } catch (err) {
        if (signal.aborted) break
        if (err instanceof QueueError && (err.code === 'E_CLOSED' || err.code === 'E_NO_CONSUMER')) throw err
        // The broker is away (restart, partition): try again shortly rather than die.
        await pause(200, signal)
        continue
      }
      for (const msg of batch) {
        if (signal.aborted) {
          msg.nak(0) // not started: hand it back at once
          continue
        }
        try {
          await handler(msg, signal)
          msg.ack()
        } catch (err) {
          await this.fail(msg, err).catch(() => msg.nak())
        }
      }
    }
  }

  /** Stops `run()`: the message being handled finishes and is settled, the rest go back unprocessed. */
  async drain(signal?: AbortSignal): Promise<void> {
    this.#stop?.abort(new QueueError('E_CLOSED', 'consumer draining', this.#ctx()))
    if (this.#running)
      await abortable(
        this.#running.catch(() => {}),
        signal,
        { consumer: this.durable },
      )
    this.#untrack()
  }

  /** Backlog and lag of this consumer. */
  async stats(signal?: AbortSignal): Promise<ConsumerStats> {
    const info = await this.#driver.consumerInfo(this.stream.name, this.durable, signal)
    return { ...info, backlog: info.pending + info.ackPending }
  }

  readonly #backoff = (deliveries: number): number => {
    const list = this.options.backoffMs
    if (list.length === 0) return this.options.ackWaitMs
    return list[Math.min(deliveries, list.length) - 1]!
  }

  async #deadLetter(m: DriverMessage, reason: string, signal: AbortSignal | undefined): Promise<void> {
    const dlq = this.stream.deadLetters
    if (!dlq) {
      m.term()
      return
    }
    const headers: Record<string, string> = { ...m.headers }
    delete headers[ID_HEADER]
    headers[DEAD_LETTER_HEADERS.stream] = this.stream.name
    headers[DEAD_LETTER_HEADERS.subject] = m.subject
    headers[DEAD_LETTER_HEADERS.seq] = String(m.seq)
    headers[DEAD_LETTER_HEADERS.consumer] = this.durable
    headers[DEAD_LETTER_HEADERS.deliveries] = String(m.deliveries)
    headers[DEAD_LETTER_HEADERS.error] = reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200) || 'error'
    // The id makes a repeat (a crash between this publish and the term) a duplicate, not a second copy.
    await dlq.driver.publish(dlq.subject(0), m.data, { headers, msgId: `${this.durable}:${m.seq}` }, signal)
    m.term()
  }

  #ctx() {
    return { context: { stream: this.stream.name, consumer: this.durable } }
  }
}

/** Waits `ms`, or less if the signal fires first; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => {})
}
