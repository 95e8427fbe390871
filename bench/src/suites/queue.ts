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
    consume_msgs_per_s: js.consume,
    message_bytes: MESSAGE_BYTES,
    publish_in_flight: IN_FLIGHT,
    consume_batch: BATCH,
    messages: js.messages,
    memory_publish_msgs_per_s: mem.publish,
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
        `NATS ${servers}; one Node process; every publish carries a message id (dedupe window) and resolves on the stream's ack`,
        'consume: one durable pull consumer over all partitions, batches fetched with no_wait+expires, explicit ack per message',
        'publish_msgs_per_s floor (issue 7): >= 100000',
        ...(app?.notes ?? ['write-path steps skipped: the target is not one the suite starts']),
      ],
      steps: app?.steps ?? [],
      extra: app?.extra ?? {},
    },
    options,
  )
  return { metrics, files: [file] }
}

async function measure(
  queue: Queue,
  storage: 'file' | 'memory',
  seconds: number,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<{ publish: number; consume: number; messages: number }> {
  const name = `bench_queue_${process.pid}_${queue.driver.kind}`
  try {
    await queue.deleteStream(name, signal)
    const stream = await queue.stream({ name, partitions: 4, storage }, signal)
    const consumer = await stream.consumer({ name: 'bench', maxAckPending: 20_000 }, signal)
    await publishFor(stream, 0.5, signal) // warm-up
    await drainAll(consumer, signal)
    const published = await publishFor(stream, seconds, signal)
    const publish = Math.round(published.count / published.seconds)
    const consumed = await drainAll(consumer, signal)
    const consume = Math.round(consumed.count / consumed.seconds)
    log(
      `${queue.driver.kind}: publish ${publish} msg/s, consume ${consume} msg/s (${published.count} messages)`,
    )
    return { publish, consume, messages: published.count }
  } finally {
    await queue.deleteStream(name).catch(() => {})
    await queue.drain()
  }
}

/** Publishes 1 KB messages for `seconds`, keeping `IN_FLIGHT` unacknowledged publishes in flight. */
async function publishFor(
  stream: Stream,
  seconds: number,
  signal: AbortSignal,
): Promise<{ count: number; seconds: number }> {
  const payload = new Uint8Array(MESSAGE_BYTES).fill(120)
  const started = performance.now()
  const deadline = started + seconds * 1000
  let next = 0
  const lane = async () => {
    while (performance.now() < deadline && !signal.aborted) {
      const n = next++
      // The lanes watch the signal themselves: one listener per publish would only measure the listeners.
      await stream.publish({ id: `m${n}`, key: `k${n % 1000}`, data: payload })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return { count: next, seconds: (performance.now() - started) / 1000 }
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
