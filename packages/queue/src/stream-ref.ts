import type { QueueDriver } from './driver.js'

/**
 * What a `Consumer` needs of its stream: its name, its partitions' subjects and where failed messages
 * are parked. `Stream` implements it; it is kept apart so that `consumer.ts` and `stream.ts` do not
 * import each other.
 */
export interface StreamRef {
  readonly name: string
  readonly partitions: number
  /** Where consumers republish messages that failed `maxDeliveries` times; undefined when disabled. */
  readonly deadLetters: StreamRef | undefined
  /** @internal the connection dead letters are published on. */
  readonly driver: QueueDriver
  /** The subject of a partition. */
  subject(partition: number): string
}
