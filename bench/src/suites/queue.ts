import { performance } from 'node:perf_hooks'
import { type Consumer, createQueue, memoryDriver, type Queue, type Stream } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import type { BenchOptions } from '../options.js'
import { measureWritePath } from '../queue/write-path-bench.js'
import { type MetricValue, writeResults } from '../results.js'
import type { Suite, SuiteOutcome } from '../suite.js'

const NAME = 'queue'
const MESSAGE_BYTES = 1024
const IN_FLIGHT = 4096
/** Messages per `publishBatch()` call: 16 lanes of 256 keep `IN_FLIGHT` unacknowledged. */
const PUBLISH_BATCH = 256
/** Publish windows measured; the figure is their median (this machine's two cores are shared with the broker). */
const WINDOWS = 3
const BATCH = 500

/**
 * Two parts:
 * - the package: publish and consume throughput of `@hundredfold/queue` on NATS JetStream (file
 *   storage, msg-id dedupe on), from one Node process: publishes in asynchronous batches (a window of
 *   `IN_FLIGHT` unacknowledged publishes), then pull-consumes everything in batches of `BATCH`,
 *   acking each. The in-process driver runs the same loop for reference.
 * - the microblog's queued write path (`queue/write-path-bench.ts`): the synchronous compose MST,
 *   compose acceptance during a 10x burst over it, the backlog's drain, and fan-out lag at
 *   1,000 posts/s observed in Redis. Skipped for targets the suite cannot start (a URL, `synthetic`).
 */
export const queueSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/queue publish/consume msgs/s (1 KB, JetStream file storage); microblog compose burst over the sync MST and fan-out lag',
  run: runQueue,
}

async function runQueue(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const servers = process.env['NATS_URL'] ?? '127.0.0.1:4222'
  const redisUrl = process.env['HF_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
  const seconds = options.smoke ? 1 : Math.max(3, Math.round(options.durationMs / 1000))
  const js = await measure(
    createQueue({ driver: jetstreamDriver({ servers }) }),
    'file',
    seconds,
    signal,
    log,
  )
  const mem = await measure(createQueue({ driver: memoryDriver() }), 'memory', seconds, signal, log)
  const app = await measureWritePath(options, { natsServers: servers, redisUrl }, signal, log)
  if (!app)
    log(
      `target ${options.target}: the write-path steps need a target the suite starts (postgres, embedded); skipped`,
    )
  const metrics: Record<string, MetricValue> = {
    publish_msgs_per_s: js.publish,
    publish_single_msgs_per_s: js.publishSingle,
    consume_msgs_per_s: js.consume,
    message_bytes: MESSAGE_BYTES,
    publish_in_flight: IN_FLIGHT,
    publish_batch: PUBLISH_BATCH,
    publish_window_s: seconds,
    publish_duplicates: js.duplicates,
    consume_batch: BATCH,
    messages: js.messages,
    memory_publish_msgs_per_s: mem.publish,
    memory_publish_single_msgs_per_s: mem.publishSingle,
    memory_consume_msgs_per_s: mem.consume,
    ...app?.metrics,
    run_s: Math.round(performance.now() - started) / 1000,
  }
  const file = await writeResults(
    NAME,
    {
      description: queueSuite.description,
      metrics,
      notes: [
        `NATS ${servers}; one Node process; every message carries its own message id (dedupe window) and is acknowledged by the stream; publish_msgs_per_s: publishBatch() of ${PUBLISH_BATCH}, ${IN_FLIGHT} in flight, median of ${WINDOWS} windows of ${seconds} s, each on a new empty stream (all in publish_msgs_per_s_windows); publish_single_msgs_per_s: one publish() per message, ${IN_FLIGHT} in flight`,
        'consume: one durable pull consumer over all partitions, batches fetched with no_wait+expires, explicit ack per message',
        'publish_msgs_per_s floor (issue 7): >= 100000',
        ...(app?.notes ?? ['write-path steps skipped: the target is not one the suite starts']),
      ],
      steps: app?.steps ?? [],
      extra: {
        ...app?.extra,
        publish_msgs_per_s_windows: js.publishRuns,
        consume_msgs_per_s_windows: js.consumeRuns,
      },
    },
    options,
  )
  return { metrics, files: [file] }
}

interface Throughput {
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

async function measure(
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
