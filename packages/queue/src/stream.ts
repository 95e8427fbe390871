import { Consumer } from './consumer.js'
import { type ConsumerOptions, resolveConsumerOptions } from './consumer-options.js'
import type { DriverPublish, PublishSpec, QueueDriver, StreamInfo } from './driver.js'
import { QueueError } from './errors.js'
import { KEY_HEADER } from './message.js'
import { partitionOf } from './partition.js'
import type { StreamRef } from './stream-ref.js'

/** What one message is published with. */
export interface PublishInput {
  /** The payload. Strings are sent as UTF-8. */
  data: Uint8Array | string
  /** Messages with the same key go to the same partition, so one consumer sees them in order.
   * Not stored with the message unless the stream has `keyHeader: true`. */
  key?: string
  /** Dedupe id: a second publish with the same id inside the duplicate window is not stored again. */
  id?: string
  /** Extra headers (ASCII names and values). */
  headers?: Record<string, string>
}

/** The broker stored the message (or already had it, `duplicate: true`). */
export interface PublishAck {
  seq: number
  duplicate: boolean
  partition: number
  subject: string
}

/** A message ready for the driver, with the partition it maps to. */
interface PreparedMessage extends DriverPublish {
  partition: number
}

/**
 * A durable stream split into `partitions` subjects `<name>.0 … <name>.<n-1>`. Get one from
 * `queue.stream()`.
 *
 * @example
 * const posts = await queue.stream({ name: 'posts', partitions: 8 })
 * await posts.publish({ key: authorId, id: postId, data: JSON.stringify(post) })
 */
export class Stream implements StreamRef {
  readonly name: string
  readonly partitions: number
  /** Where consumers republish messages that failed `maxDeliveries` times; undefined when disabled. */
  readonly deadLetters: Stream | undefined
  readonly #driver: QueueDriver
  readonly #keyHeader: boolean
  readonly #track: (consumer: Consumer) => () => void
  #next = 0

  /** @internal built by `Queue.stream()`. */
  constructor(
    driver: QueueDriver,
    name: string,
    partitions: number,
    deadLetters: Stream | undefined,
    keyHeader: boolean,
    track: (consumer: Consumer) => () => void,
  ) {
    this.#keyHeader = keyHeader
    this.#driver = driver
    this.name = name
    this.partitions = partitions
    this.deadLetters = deadLetters
    this.#track = track
  }

  /** The subject of a partition. */
  subject(partition: number): string {
    return `${this.name}.${partition}`
  }

  /** The partition a key maps to. */
  partitionOf(key: string): number {
    return partitionOf(key, this.partitions)
  }

  /**
   * Stores one message and resolves once the broker has it: acknowledged = stored in the stream.
   * Without a key, messages are spread round-robin over the partitions.
   */
  async publish(input: PublishInput, signal?: AbortSignal): Promise<PublishAck> {
    const message = this.#prepare(input)
    try {
      const ack = await this.#driver.publish(message.subject, message.data, message.spec, signal)
      return {
        seq: ack.seq,
        duplicate: ack.duplicate,
        partition: message.partition,
        subject: message.subject,
      }
    } catch (err) {
      if (err instanceof QueueError && err.code !== 'E_BROKER') throw err
      throw new QueueError('E_PUBLISH', `publish to ${message.subject} failed`, {
        cause: err,
        context: { stream: this.name, subject: message.subject, id: input.id },
      })
    }
  }

  /**
   * Stores several messages, sent together, and resolves with their acknowledgements in the same order:
   * one promise and one round of acknowledgements for the lot, which is how one process publishes
   * 100 k messages/s. Each message keeps its own key, partition and id. Rejects on the first message
   * the broker does not store (`context.index` says which); the others may be stored, so retry the
   * whole batch with the same ids and dedupe drops the copies.
   *
   * @example
   * const acks = await stream.publishBatch(posts.map((p) => ({ id: p.id, key: p.author, data: JSON.stringify(p) })))
   */
  async publishBatch(inputs: readonly PublishInput[], signal?: AbortSignal): Promise<PublishAck[]> {
    const messages = inputs.map((input) => this.#prepare(input))
    try {
      const acks = await this.#driver.publishBatch(messages, signal)
      return acks.map((ack, i) => {
        const { partition, subject } = messages[i] as PreparedMessage
        return { seq: ack.seq, duplicate: ack.duplicate, partition, subject }
      })
    } catch (err) {
      const index = err instanceof QueueError ? err.context['index'] : undefined
      const id = typeof index === 'number' ? inputs[index]?.id : undefined
      if (err instanceof QueueError && err.code !== 'E_BROKER') {
        throw new QueueError(err.code, err.message, {
          cause: err.cause,
          context: { ...err.context, stream: this.name, ...(id === undefined ? {} : { id }) },
        })
      }
      throw new QueueError('E_PUBLISH', `publish of ${inputs.length} messages to ${this.name} failed`, {
        cause: err,
        context: { stream: this.name, messages: inputs.length },
      })
    }
  }

  #prepare(input: PublishInput): PreparedMessage {
    const partition =
      input.key === undefined ? this.#next++ % this.partitions : partitionOf(input.key, this.partitions)
    const subject = this.subject(partition)
    let headers = input.headers
    if (this.#keyHeader && input.key !== undefined) headers = { ...headers, [KEY_HEADER]: input.key }
    const data = typeof input.data === 'string' ? encoder.encode(input.data) : input.data
    const spec: PublishSpec = {}
    if (input.id !== undefined) spec.msgId = input.id
    if (headers !== undefined) spec.headers = headers
    return { partition, subject, data, spec }
  }

  /**
   * A durable pull consumer of one partition (`partition: n`) or of all of them. Created on the
   * broker if missing; consumers with the same `name` and partition share its position.
   */
  async consumer(options: ConsumerOptions, signal?: AbortSignal): Promise<Consumer> {
    const resolved = resolveConsumerOptions(options, this.partitions)
    const durable =
      resolved.partition === undefined ? resolved.name : `${resolved.name}-p${resolved.partition}`
    const filterSubject =
      resolved.partition === undefined ? `${this.name}.*` : this.subject(resolved.partition)
    await this.#driver.ensureConsumer(
      this.name,
      {
        durable,
        filterSubject,
        ackWaitMs: resolved.ackWaitMs,
        backoffMs: [...resolved.backoffMs],
        maxAckPending: resolved.maxAckPending,
      },
      signal,
    )
    return new Consumer(this.#driver, this, durable, resolved, this.#track)
  }

  /** Messages stored and the sequence range. */
  info(signal?: AbortSignal): Promise<StreamInfo> {
    return this.#driver.streamInfo(this.name, signal)
  }

  /** @internal used by dead-lettering so the original headers travel with the message. */
  get driver(): QueueDriver {
    return this.#driver
  }
}

const encoder = new TextEncoder()
