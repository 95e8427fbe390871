import { QueueError } from './errors.js'

/** Options of `stream.consumer()`. */
export interface ConsumerOptions {
  /** Durable name (letters, digits, `_`, `-`); with `partition`, the broker name is `<name>-p<n>`. */
  name: string
  /** Only this partition, so per-key order holds with one runner per partition. @default all partitions */
  partition?: number
  /** Deliveries before a message goes to the dead-letter stream. @default 5 */
  maxDeliveries?: number
  /** Delay before redelivery n (after a nak or a missed ack); the last value repeats. @default [1000, 5000, 30000] */
  backoffMs?: readonly number[]
  /** Redelivery after no acknowledgement when `backoffMs` is empty. @default 30000 */
  ackWaitMs?: number
  /** Unacknowledged deliveries the broker allows at once. @default 1000 */
  maxAckPending?: number
}

/** Options after defaults and validation. */
export interface ResolvedConsumerOptions {
  readonly name: string
  readonly partition: number | undefined
  readonly maxDeliveries: number
  readonly backoffMs: readonly number[]
  readonly ackWaitMs: number
  readonly maxAckPending: number
}

/** Defaults of {@link ConsumerOptions}. */
export const consumerDefaults = Object.freeze({
  maxDeliveries: 5,
  backoffMs: Object.freeze([1000, 5000, 30_000]) as readonly number[],
  ackWaitMs: 30_000,
  maxAckPending: 1000,
})

/**
 * Applies {@link consumerDefaults} and checks every option, naming the bad one. @internal
 *
 * @example
 * resolveConsumerOptions({ name: 'fanout', partition: 3 }, 8) // { …, maxDeliveries: 5 }
 */
export function resolveConsumerOptions(
  options: ConsumerOptions,
  partitions: number,
): ResolvedConsumerOptions {
  if (!NAME.test(options.name ?? '')) invalid('options.name must match /^[A-Za-z0-9_-]+$/')
  const partition = options.partition
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0 && partition < partitions)) {
    invalid(`options.partition must be an integer in 0…${partitions - 1}`)
  }
  const maxDeliveries = options.maxDeliveries ?? consumerDefaults.maxDeliveries
  positiveInt(maxDeliveries, 'options.maxDeliveries')
  const backoffMs = Object.freeze([...(options.backoffMs ?? consumerDefaults.backoffMs)])
  for (const ms of backoffMs) positiveInt(ms, 'options.backoffMs[]')
  const ackWaitMs = options.ackWaitMs ?? consumerDefaults.ackWaitMs
  positiveInt(ackWaitMs, 'options.ackWaitMs')
  const maxAckPending = options.maxAckPending ?? consumerDefaults.maxAckPending
  positiveInt(maxAckPending, 'options.maxAckPending')
  return Object.freeze({ name: options.name, partition, maxDeliveries, backoffMs, ackWaitMs, maxAckPending })
}

/** Options of `consumer.fetch()`. */
export interface FetchOptions {
  /** At most this many messages. @default 100 */
  max?: number
  /** Wait at most this long for the first one (JetStream rounds up to 1000). @default 1000 */
  expiresMs?: number
}

/** Options of `consumer.run()`. */
export interface RunOptions extends FetchOptions {
  /** Stops the loop like `drain()`. */
  signal?: AbortSignal
}

const NAME = /^[A-Za-z0-9_-]+$/

/** @internal */
export function positiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) invalid(`${name} must be a positive integer`)
}

function invalid(message: string): never {
  throw new QueueError('E_INVALID_OPTION', message)
}
