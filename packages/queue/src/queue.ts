import type { Consumer } from './consumer.js'
import type { QueueDriver } from './driver.js'
import { abortable, QueueError, throwIfAborted } from './errors.js'
import { Stream } from './stream.js'

/** Options of `createQueue()`. */
export interface QueueOptions {
  /** `jetstreamDriver(...)` from `@hundredfold/queue/jetstream`, or `memoryDriver()`. */
  driver: QueueDriver
}

/** Options of `queue.stream()`. */
export interface StreamOptions {
  /** Stream name (letters, digits, `_`, `-`); subjects are `<name>.0 … <name>.<partitions-1>`. */
  name: string
  /** Partitions; a key always maps to `hash(key) % partitions`. Fixed for a stream's life. @default 1 */
  partitions?: number
  /** A message id seen again within this window is not stored twice. @default 120000 */
  duplicateWindowMs?: number
  /** `file` survives a broker restart. @default 'file' */
  storage?: 'file' | 'memory'
  /** Also send the key as header `hf-key` (so `msg.key` is set). Costs ~30% of publish throughput. @default false */
  keyHeader?: boolean
  /** Keep messages that failed `maxDeliveries` times in a stream `<name>_dlq` (subject `<name>_dlq.0`). @default true */
  deadLetter?: boolean
}

/** Defaults of `StreamOptions`. */
export const STREAM_DEFAULTS = Object.freeze({
  partitions: 1,
  duplicateWindowMs: 120_000,
  storage: 'file' as 'file' | 'memory',
  deadLetter: true,
  keyHeader: false,
})

/**
 * Streams and consumers over one broker connection.
 *
 * @example
 * const queue = createQueue({ driver: memoryDriver() })
 * const jobs = await queue.stream({ name: 'jobs', partitions: 4 })
 * await jobs.publish({ key: 'user:1', id: 'job-1', data: 'hello' })
 * const consumer = await jobs.consumer({ name: 'workers' })
 * for (const msg of await consumer.fetch({ max: 10 })) msg.ack()
 * await queue.drain()
 */
export class Queue {
  readonly driver: QueueDriver
  readonly #consumers = new Set<Consumer>()
  #closed: Promise<void> | undefined

  constructor(options: QueueOptions) {
    if (!options?.driver) throw new QueueError('E_INVALID_OPTION', 'options.driver is required')
    this.driver = options.driver
  }

  /** Creates the stream (and its dead-letter stream) if missing; returns a handle to publish and consume. */
  async stream(options: StreamOptions, signal?: AbortSignal): Promise<Stream> {
    this.#open()
    const o = { ...STREAM_DEFAULTS, ...options }
    if (!NAME.test(o.name ?? '')) invalid('options.name must match /^[A-Za-z0-9_-]+$/')
    if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > 1024) {
      invalid('options.partitions must be an integer in 1…1024')
    }
    if (!Number.isInteger(o.duplicateWindowMs) || o.duplicateWindowMs < 1) {
      invalid('options.duplicateWindowMs must be a positive integer')
    }
    if (o.storage !== 'file' && o.storage !== 'memory') invalid("options.storage must be 'file' or 'memory'")
    throwIfAborted(signal)
    let deadLetters: Stream | undefined
    if (o.deadLetter) {
      const name = `${o.name}_dlq`
      await this.driver.ensureStream(
        { name, subjects: [`${name}.0`], duplicateWindowMs: o.duplicateWindowMs, storage: o.storage },
        signal,
      )
      deadLetters = new Stream(this.driver, name, 1, undefined, true, this.#track)
    }
    const subjects = Array.from({ length: o.partitions }, (_, i) => `${o.name}.${i}`)
    await this.driver.ensureStream(
      { name: o.name, subjects, duplicateWindowMs: o.duplicateWindowMs, storage: o.storage },
      signal,
    )
    return new Stream(this.driver, o.name, o.partitions, deadLetters, o.keyHeader, this.#track)
  }

  /** Deletes a stream, its consumers and its dead-letter stream. */
  async deleteStream(name: string, signal?: AbortSignal): Promise<boolean> {
    this.#open()
    await this.driver.deleteStream(`${name}_dlq`, signal)
    return this.driver.deleteStream(name, signal)
  }

  /**
   * Graceful shutdown: every running consumer finishes the message in hand and hands the rest back,
   * acknowledgements are flushed, then the connection closes. Idempotent.
   */
  drain(signal?: AbortSignal): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#consumers].map((c) => c.drain()))
      await this.driver.close()
    })()
    return abortable(this.#closed, signal)
  }

  readonly #track = (consumer: Consumer): (() => void) => {
    this.#consumers.add(consumer)
    return () => this.#consumers.delete(consumer)
  }

  #open(): void {
    if (this.#closed) throw new QueueError('E_CLOSED', 'queue is drained')
  }
}

/** A `Queue` over `options.driver`. */
export function createQueue(options: QueueOptions): Queue {
  return new Queue(options)
}

const NAME = /^[A-Za-z0-9_-]+$/

function invalid(message: string): never {
  throw new QueueError('E_INVALID_OPTION', message)
}
