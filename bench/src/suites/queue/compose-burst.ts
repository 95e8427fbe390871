import type { Queue } from '@hundredfold/queue'
import type { ApiSession } from '../../workloads/api.js'
import { apiCompose } from './api-compose.js'
import { watchBacklog } from './backlog-watch.js'
import { type ComposeLoadOptions, type ComposeLoadResult, runComposeLoad } from './compose-load.js'

/** A burst of composes against the queued app, from rest. */
export interface ComposeBurstOptions
  extends Omit<ComposeLoadOptions, 'next' | 'onResponse' | 'warmupMs' | 'drainMs'> {
  sessions: readonly ApiSession[]
  queue: Queue
  /** The posts stream and its timeline consumer, whose backlog is watched. */
  stream: string
  consumer: string
  /** Give up waiting for the backlog to drain after this long. */
  drainTimeoutMs: number
}

/** What the burst measured. */
export interface ComposeBurstResult {
  load: ComposeLoadResult
  backlog_peak: number
  drained: boolean
  /** From the end of the burst (its last intended send time) to the backlog reading 0. */
  drain_s: number
  /** Backlog readings `[ms since the burst began, messages]`. */
  series: ReadonlyArray<readonly [number, number]>
}

/** How often the backlog is read during and after the burst. */
const BACKLOG_EVERY_MS = 50

/**
 * Offers `ratePerSecond` composes open loop for `durationMs` with no warm-up (the burst starts from
 * rest, on connections opened beforehand), records the acceptance latency of each 202 from its intended send time, and watches the
 * timeline consumer's backlog until it drains.
 *
 * @example
 * const burst = await measureComposeBurst({ ...shape, ratePerSecond: 2000, durationMs: 5000, sessions,
 *   queue, stream: 'mb_posts', consumer: 'timeline', drainTimeoutMs: 180_000 }, signal)
 */
export async function measureComposeBurst(
  options: ComposeBurstOptions,
  signal: AbortSignal,
): Promise<ComposeBurstResult> {
  const watch = watchBacklog(options.queue, options.stream, options.consumer, BACKLOG_EVERY_MS, signal)
  let lastAccepted = 0
  const load = await runComposeLoad(
    {
      ...options,
      warmupMs: 0,
      preconnect: options.connections,
      // Every answer of the burst counts, however late: wait up to the request timeout for it.
      drainMs: options.timeoutMs + 1000,
      next: (random) => apiCompose(random, options.sessions, options.sessions.length),
      onResponse: ({ at, status }) => {
        if (status >= 200 && status < 300) lastAccepted = Math.max(lastAccepted, at)
      },
    },
    signal,
  )
  const drain = await watch.finish(Math.max(lastAccepted, load.window_end), options.drainTimeoutMs)
  return {
    load,
    backlog_peak: drain.peak,
    drained: drain.drained,
    drain_s: Math.max(0, Math.round(drain.at - load.window_end) / 1000),
    series: watch.series,
  }
}
