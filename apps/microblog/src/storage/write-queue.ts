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

/**
 * `HF_NATS_URL`: JetStream (file storage: acknowledged means stored on the broker's disk). Without it,
 * an in-process broker with the same semantics — which loses what it holds if the process dies, so it
 * is for trying the system and for tests, not for a deployment.
 */
export async function openWriteQueue(config: MicroblogConfig, signal?: AbortSignal): Promise<WriteQueue> {
  const driver = config.natsUrl
    ? // Short acknowledgement timeout: the write path retries with the same id within its budget.
      jetstreamDriver({ servers: config.natsUrl, name: 'microblog', publishTimeoutMs: 2000 })
    : memoryDriver()
  const queue = createQueue({ driver })
  try {
    const ns = config.namespace
    const posts = await queue.stream({ name: postsStream(ns), partitions: PARTITIONS }, signal)
    const follows = await queue.stream({ name: followsStream(ns), partitions: PARTITIONS }, signal)
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
