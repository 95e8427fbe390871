import { performance } from 'node:perf_hooks'
import type { Consumer, Queue, Stream } from '@hundredfold/queue'

/** Bytes of every message the package steps publish. */
export const MESSAGE_BYTES = 1024
/** Publishes in flight (unacknowledged) at once. */
export const IN_FLIGHT = 4096
/** Messages per `publishBatch()` call: 16 lanes of 256 keep `IN_FLIGHT` unacknowledged. */
export const PUBLISH_BATCH = 256
/** Publish windows measured; the figure is their median (this machine's two cores are shared with the broker). */
export const WINDOWS = 3
/** Messages per consumer `fetch()`. */
export const BATCH = 500

/** What the package steps measured on one driver. */
export interface Throughput {
  /** Median of the windows, batched publishes. */
  publish: number
  publishRuns: number[]
  /** One `publish()` per message, the same number in flight (what a request handler does). */
  publishSingle: number
  consume: number
  consumeRuns: number[]
  messages: number
  duplicates: number
}

/**
 * Publish and consume throughput of one queue: a warm-up, then `WINDOWS` windows of `seconds` each of
 * batched publishes (each on a new, empty stream) drained by one pull consumer, then one window of single
 * `publish()` calls.
 *
 * @example
 * const js = await measureThroughput(createQueue({ driver: jetstreamDriver({ servers }) }), 'file', 8, signal, log)
 */
export async function measureThroughput(
  queue: Queue,
  storage: 'file' | 'memory',
  seconds: number,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<Throughput> {
  const name = `bench_queue_${process.pid}_${queue.driver.kind}`
  // Every window starts on a new, empty stream: the broker keeps each message id of the last
  // `duplicateWindowMs` (2 min) and every message, so windows on one growing stream measure less and less
  // of the publisher and more of that state (see the package README).
  const fresh = async () => {
    await queue.deleteStream(name, signal)
    const stream = await queue.stream({ name, partitions: 4, storage }, signal)
    const consumer = await stream.consumer({ name: 'bench', maxAckPending: 20_000 }, signal)
    return { stream, consumer }
  }
  try {
    {
      const { stream, consumer } = await fresh()
      await publishFor(stream, 0.5, PUBLISH_BATCH, 'warm', signal)
      await drainAll(consumer, signal)
    }
    const publishRuns: number[] = []
    const consumeRuns: number[] = []
    let messages = 0
    let duplicates = 0
    for (let run = 0; run < WINDOWS; run++) {
      const { stream, consumer } = await fresh()
      const published = await publishFor(stream, seconds, PUBLISH_BATCH, `w${run}`, signal)
      const consumed = await drainAll(consumer, signal)
      publishRuns.push(Math.round(published.count / published.seconds))
      consumeRuns.push(Math.round(consumed.count / consumed.seconds))
      messages += published.count
      duplicates += published.duplicates
    }
    const { stream, consumer } = await fresh()
    const single = await publishFor(stream, seconds, 1, 'single', signal)
    await drainAll(consumer, signal)
    const publishSingle = Math.round(single.count / single.seconds)
    const publish = median(publishRuns)
    const consume = median(consumeRuns)
    log(
      `${queue.driver.kind}: publish ${publish} msg/s (batches of ${PUBLISH_BATCH}; windows ${publishRuns.join(', ')}), ` +
        `one publish() per message ${publishSingle} msg/s, consume ${consume} msg/s (${consumeRuns.join(', ')})`,
    )
    return { publish, publishRuns, publishSingle, consume, consumeRuns, messages, duplicates }
  } finally {
    await queue.deleteStream(name).catch(() => {})
    await queue.drain()
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2)
}

/**
 * Publishes 1 KB messages for `seconds`, keeping `IN_FLIGHT` unacknowledged publishes in flight: lanes of
 * `publishBatch(batch)` calls, or of single `publish()` calls when `batch` is 1. Every message id is new
 * (`tag` + a counter), so no publish is a dedupe hit; the acks' `duplicate` flags are counted to prove it.
 */
async function publishFor(
  stream: Stream,
  seconds: number,
  batch: number,
  tag: string,
  signal: AbortSignal,
): Promise<{ count: number; seconds: number; duplicates: number }> {
  const payload = new Uint8Array(MESSAGE_BYTES).fill(120)
  const started = performance.now()
  const deadline = started + seconds * 1000
  let next = 0
  let duplicates = 0
  const message = () => {
    const n = next++
    return { id: `${tag}-${n}`, key: `k${n % 1000}`, data: payload }
  }
  // The lanes watch the signal themselves: one listener per publish would only measure the listeners.
  const lane =
    batch === 1
      ? async () => {
          while (performance.now() < deadline && !signal.aborted) {
            if ((await stream.publish(message())).duplicate) duplicates++
          }
        }
      : async () => {
          while (performance.now() < deadline && !signal.aborted) {
            const acks = await stream.publishBatch(Array.from({ length: batch }, message))
            for (const ack of acks) if (ack.duplicate) duplicates++
          }
        }
  await Promise.all(Array.from({ length: Math.max(1, IN_FLIGHT / batch) }, lane))
  return { count: next, seconds: (performance.now() - started) / 1000, duplicates }
}

/** Consumes and acks until the consumer's backlog is empty. */
async function drainAll(
  consumer: Consumer,
  signal: AbortSignal,
): Promise<{ count: number; seconds: number }> {
  const started = performance.now()
  let last = started
  let count = 0
  for (;;) {
    const batch = await consumer.fetch({ max: BATCH, expiresMs: 1000 }, signal)
    if (batch.length === 0 && (await consumer.stats(signal)).pending === 0) break
    for (const msg of batch) msg.ack()
    count += batch.length
    last = performance.now() // the final empty fetch waits `expiresMs`: not part of the rate
  }
  return { count, seconds: Math.max(0.001, (last - started) / 1000) }
}
