import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from '@hundredfold/queue'
import type { Redis } from 'ioredis'
import { BenchError } from '../errors.js'

/**
 * The microblog's write queue as the bench sees it from outside: its stream and durable consumer names
 * (`apps/microblog/src/storage/write-queue.ts`), read-only backlog figures, and cleanup after a run.
 */
export const postsStream = (namespace: string): string => `${namespace}_posts`
export const followsStream = (namespace: string): string => `${namespace}_follows`
export const TIMELINE_CONSUMER = 'timeline'
export const EDGES_CONSUMER = 'edges'

/**
 * Messages a durable consumer has not acknowledged yet (pending + unacknowledged): the gauge the app's
 * back-pressure acts on. Read with consumer info only, so the consumer's configuration is never touched.
 */
export async function backlogOf(
  queue: Queue,
  stream: string,
  consumer: string,
  signal?: AbortSignal,
): Promise<number> {
  const info = await queue.driver.consumerInfo(stream, consumer, signal)
  return info.pending + info.ackPending
}

/** Where a wait for an empty backlog ended. */
export interface DrainOutcome {
  drained: boolean
  /** `performance.now()` when the backlog was first read as 0 (or the deadline). */
  at: number
  /** The largest backlog read meanwhile. */
  peak: number
}

/**
 * Polls the consumers' backlogs every `everyMs` until all read 0 or `timeoutMs` passes.
 *
 * @example
 * const { drained, at } = await waitForDrain(queue, [['mb_posts', 'timeline']], { everyMs: 50, timeoutMs: 60_000 }, signal)
 */
export async function waitForDrain(
  queue: Queue,
  consumers: ReadonlyArray<readonly [stream: string, consumer: string]>,
  options: { everyMs: number; timeoutMs: number },
  signal: AbortSignal,
): Promise<DrainOutcome> {
  const deadline = performance.now() + options.timeoutMs
  let peak = 0
  for (;;) {
    const backlogs = await Promise.all(consumers.map(([s, c]) => backlogOf(queue, s, c, signal)))
    const total = backlogs.reduce((a, b) => a + b, 0)
    const at = performance.now()
    peak = Math.max(peak, total)
    if (total === 0) return { drained: true, at, peak }
    if (at >= deadline) return { drained: false, at, peak }
    await sleep(options.everyMs, undefined, { signal }).catch(() => {
      throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: signal.reason })
    })
  }
}

/**
 * Deletes the run's streams (with their dead-letter streams) and every Redis key under `hf:<namespace>:`
 * (home timelines, and the read cache's entries where the app namespaces them); best effort. Either
 * client may be absent when the run did not use that server.
 */
export async function cleanUpNamespace(
  queue: Queue | undefined,
  redis: Redis | undefined,
  namespace: string,
): Promise<void> {
  for (const stream of queue ? [postsStream(namespace), followsStream(namespace)] : []) {
    await queue?.deleteStream(stream).catch(() => {})
  }
  if (!redis) return
  let cursor = '0'
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `hf:${namespace}:*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = nextCursor
  } while (cursor !== '0')
}
