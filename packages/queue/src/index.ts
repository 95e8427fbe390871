export { Consumer, type ConsumerStats, type Handler } from './consumer.js'
export {
  type ConsumerOptions,
  consumerDefaults,
  type FetchOptions,
  type ResolvedConsumerOptions,
  type RunOptions,
} from './consumer-options.js'
export { DEAD_LETTER_HEADERS } from './dead-letter.js'
export type {
  ConsumerInfo,
  ConsumerSpec,
  DriverMessage,
  DriverPubAck,
  DriverPublish,
  FetchSpec,
  PublishSpec,
  QueueDriver,
  StreamCluster,
  StreamInfo,
  StreamSettings,
  StreamSpec,
} from './driver.js'
export { MemoryBroker, type MemoryDriverOptions, memoryDriver } from './drivers/memory/index.js'
export {
  QueueError,
  type QueueErrorCode,
  type QueueErrorContext,
  type QueueErrorOptions,
} from './errors.js'
export { ID_HEADER, KEY_HEADER, QueueMessage } from './message.js'
export { partitionOf } from './partition.js'
export { createQueue, Queue, type QueueOptions } from './queue.js'
export { type PublishAck, type PublishInput, Stream } from './stream.js'
export { type ResolvedStreamOptions, type StreamOptions, streamDefaults } from './stream-options.js'
export type { StreamRef } from './stream-ref.js'
