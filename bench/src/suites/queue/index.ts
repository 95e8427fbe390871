import { performance } from 'node:perf_hooks'
import { createQueue, memoryDriver } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import { type MetricValue, writeResults } from '../../results.js'
import type { Suite } from '../../suite.js'
import { BATCH, IN_FLIGHT, MESSAGE_BYTES, measureThroughput, PUBLISH_BATCH, WINDOWS } from './throughput.js'
import { measureWritePath } from './write-path-bench.js'

const NAME = 'queue'

/**
 * Two parts:
 * - the package: publish and consume throughput of `@hundredfold/queue` on NATS JetStream (file
 *   storage, msg-id dedupe on), from one Node process: publishes in asynchronous batches (a window of
 *   `IN_FLIGHT` unacknowledged publishes), then pull-consumes everything in batches of `BATCH`,
 *   acking each. The in-process driver runs the same loop for reference.
 * - the microblog's queued write path (`write-path-bench.ts`): the synchronous compose MST,
 *   compose acceptance during a 10x burst over it, the backlog's drain, and fan-out lag at
 *   1,000 posts/s observed in Redis. Skipped for targets the suite cannot start (a URL, `synthetic`).
 */
export const queueSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/queue publish/consume msgs/s (1 KB, JetStream file storage); microblog compose burst over the sync MST and fan-out lag',
  async run(options, signal) {
    const started = performance.now()
    const log = (line: string): void => options.log(`[${NAME}] ${line}`)
    const servers = process.env['NATS_URL'] ?? '127.0.0.1:4222'
    const redisUrl = process.env['HF_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
    const seconds = options.smoke ? 1 : Math.max(3, Math.round(options.durationMs / 1000))
    const js = await measureThroughput(
      createQueue({ driver: jetstreamDriver({ servers }) }),
      'file',
      seconds,
      signal,
      log,
    )
    const mem = await measureThroughput(
      createQueue({ driver: memoryDriver() }),
      'memory',
      seconds,
      signal,
      log,
    )
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
  },
}
