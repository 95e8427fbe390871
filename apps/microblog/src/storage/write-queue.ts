import { type Consumer, createQueue, memoryDriver, type Queue, type Stream } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import type { MicroblogConfig } from '../config.js'

/** Stream and consumer names (`HF_NAMESPACE` prefixes the streams): drills and the bench address them. */
export const postsStream = (namespace: string) => `${namespace}_posts`
export const followsStream = (namespace: string) => `${namespace}_follows`
export const TIMELINE_CONSUMER = 'timeline'
export const EDGES_CONSUMER = 'edges'
const PARTITIONS = 4

/** The write path's streams and their durable consumers (created by every process; run by consumers). */
export interface WriteQueue {
  readonly queue: Queue
  /** Composed posts, keyed by author: persisted, then fanned out to home timelines. */
  readonly posts: Stream
  /** Follow and unfollow edges, keyed by followee: the second direction (`followers`) is written from here. */
  readonly follows: Stream
  readonly timeline: Consumer
  readonly edges: Consumer
  close(signal?: AbortSignal): Promise<void>
}

/** The subset of a pino logger `openWriteQueue` needs. */
export interface WriteQueueLog {
  warn(fields: object, message: string): void
}

/** Options of `openWriteQueue`. */
export interface OpenWriteQueueOptions {
  /** Told, at start, when acknowledged writes would not survive the process. @default silent */
  log?: WriteQueueLog
  signal?: AbortSignal
}

/**
 * `HF_NATS_URL`: JetStream, file storage. An acknowledgement means the broker wrote the message to
 * its store before answering: it survives a broker restart and a killed broker process; see the
 * README's durability table for an OS crash (`sync_interval`) and for `HF_QUEUE_REPLICAS=3`.
 * Without it, an in-process broker with the same semantics — which loses what it holds if the process
 * dies, so it is for trying the system and for tests, not for a deployment (it says so at start).
 *
 * Both streams are write buffers: `workqueue` retention (a message leaves once its consumer acked it),
 * so `HF_QUEUE_MAX_BYTES` bounds the unconsumed backlog, and `discard: 'new'`, so a full stream refuses
 * new writes (compose answers 503) instead of deleting acknowledged posts nobody has stored yet.
 */
export async function openWriteQueue(
  config: MicroblogConfig,
  options: OpenWriteQueueOptions = {},
): Promise<WriteQueue> {
  const { signal, log } = options
  const driver = config.natsUrl
    ? // Short acknowledgement timeout: the write path retries with the same id within its budget.
      jetstreamDriver({ servers: config.natsServers, name: 'microblog', publishTimeoutMs: 2000 })
    : memoryDriver()
  if (!config.natsUrl) {
    log?.warn(
      { queue: 'in-process' },
      'write queue is in-process: posts and follows acknowledged with 202 live only in this process and are ' +
        'lost if it exits or crashes before the consumers store them; set HF_NATS_URL for a durable broker',
    )
  }
  const queue = createQueue({ driver })
  try {
    const ns = config.namespace
    const buffer = {
      partitions: PARTITIONS,
      storage: 'file',
      retention: 'workqueue',
      discard: 'new',
      maxAgeMs: config.queueMaxAgeS * 1000,
      maxBytes: config.queueMaxBytes,
      replicas: config.queueReplicas,
    } as const
    const posts = await queue.stream({ name: postsStream(ns), ...buffer }, signal)
    const follows = await queue.stream({ name: followsStream(ns), ...buffer }, signal)
    const settings = {
      maxDeliveries: config.queueMaxDeliveries,
      backoffMs: config.queueBackoffMs,
      maxAckPending: 5000,
    }
    const timeline = await posts.consumer({ name: TIMELINE_CONSUMER, ...settings }, signal)
    const edges = await follows.consumer({ name: EDGES_CONSUMER, ...settings }, signal)
    return {
      queue,
      posts,
      follows,
      timeline,
      edges,
      close: (closeSignal) => queue.drain(closeSignal),
    }
  } catch (err) {
    await queue.drain().catch(() => {})
    throw err
  }
}
