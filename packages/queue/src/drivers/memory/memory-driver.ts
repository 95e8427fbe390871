import type { QueueDriver } from '../../driver.js'
import { QueueError, throwIfAborted } from '../../errors.js'
import { MemoryBroker } from './memory-broker.js'

/** Options of `memoryDriver()`. */
export interface MemoryDriverOptions {
  /** Share one broker between several connections (e.g. a consumer that "crashes" and one that takes over). @default a new broker */
  broker?: MemoryBroker
}

/**
 * An in-process broker with JetStream's semantics, for tests and single-process deployments.
 * Messages live in memory only: whatever it acknowledged is lost when the process exits
 * (`storage: 'file'` and `replicas` are accepted and not honoured; the limits and discard policy are).
 *
 * @example
 * const queue = createQueue({ driver: memoryDriver() })
 */
export function memoryDriver(
  options: MemoryDriverOptions = {},
): QueueDriver & { readonly broker: MemoryBroker } {
  const broker = options.broker ?? new MemoryBroker()
  let closed = false
  const open = () => {
    if (closed) throw new QueueError('E_CLOSED', 'connection is closed')
  }
  return {
    kind: 'memory',
    broker,
    async ensureStream(spec) {
      open()
      broker.ensureStream(spec)
    },
    async deleteStream(name) {
      open()
      return broker.deleteStream(name)
    },
    async streamInfo(name) {
      open()
      return broker.streamInfo(name)
    },
    async publish(subject, data, spec, signal) {
      open()
      throwIfAborted(signal)
      return broker.publish(subject, data, spec)
    },
    async publishBatch(messages, signal) {
      open()
      throwIfAborted(signal)
      const acks = []
      for (let index = 0; index < messages.length; index++) {
        const { subject, data, spec } = messages[index]!
        try {
          acks.push(broker.publish(subject, data, spec))
        } catch (err) {
          if (!(err instanceof QueueError)) throw err
          throw new QueueError(err.code, err.message, {
            cause: err.cause,
            context: { ...err.context, index },
          })
        }
      }
      return acks
    },
    async ensureConsumer(stream, spec) {
      open()
      broker.ensureConsumer(stream, spec)
    },
    async deleteConsumer(stream, durable) {
      open()
      return broker.deleteConsumer(stream, durable)
    },
    async fetch(stream, durable, spec, signal) {
      open()
      return broker.fetch(stream, durable, spec, signal)
    },
    async consumerInfo(stream, durable) {
      open()
      return broker.consumerInfo(stream, durable)
    },
    async close() {
      closed = true
    },
  }
}
