export { MemoryBroker } from './backends/memory/memory-broker.js'
export { type MemoryDriverOptions, memoryDriver } from './backends/memory/memory-driver.js'
export {
  CONSUMER_DEFAULTS,
  Consumer,
  type ConsumerOptions,
  type ConsumerStats,
  type FetchOptions,
  type Handler,
  type ResolvedConsumerOptions,
  type RunOptions,
} from './consumer.js'
export type {
  ConsumerInfo,
  ConsumerSpec,
  DriverMessage,
  DriverPubAck,
  FetchSpec,
  PublishSpec,
  QueueDriver,
  StreamInfo,
  StreamSpec,
} from './driver.js'
export { QueueError, type QueueErrorCode } from './errors.js'
export { ID_HEADER, KEY_HEADER, QueueMessage } from './message.js'
export { partitionOf } from './partition.js'
export { createQueue, Queue, type QueueOptions, STREAM_DEFAULTS, type StreamOptions } from './queue.js'
export { DEAD_LETTER_HEADERS, type PublishAck, type PublishInput, Stream } from './stream.js'
