import type { Consumer } from './consumer.js'
import type { QueueDriver } from './driver.js'
import { abortable, QueueError, throwIfAborted } from './errors.js'
import { Stream } from './stream.js'
import { resolveStreamOptions, type StreamOptions } from './stream-options.js'

/** Options of `createQueue()`. */
export interface QueueOptions {
  /** `jetstreamDriver(...)` from `@hundredfold/queue/jetstream`, or `memoryDriver()`. */
  driver: QueueDriver
}

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

  /**
   * Creates the stream (and its dead-letter stream) if missing, or updates its limits when it exists;
   * returns a handle to publish and consume. `storage` and `retention` cannot change on a live stream:
   * a stream that exists with others is refused with `E_INVALID_OPTION`.
   */
  async stream(options: StreamOptions, signal?: AbortSignal): Promise<Stream> {
    this.#open()
    const { name, partitions, keyHeader, deadLetter, ...settings } = resolveStreamOptions(options)
    throwIfAborted(signal)
    let deadLetters: Stream | undefined
    if (deadLetter) {
      const dlq = `${name}_dlq`
      // A parking lot read by people and replay tools: what it holds stays until its limits remove it.
      await this.driver.ensureStream(
        { ...settings, name: dlq, subjects: [`${dlq}.0`], retention: 'limits' },
        signal,
      )
      deadLetters = new Stream(this.driver, dlq, 1, undefined, true, this.#track)
    }
    const subjects = Array.from({ length: partitions }, (_, i) => `${name}.${i}`)
    await this.driver.ensureStream({ ...settings, name, subjects }, signal)
    return new Stream(this.driver, name, partitions, deadLetters, keyHeader, this.#track)
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
