import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from '../../loadgen/histogram.js'
import { type OpenLoopOptions, type OpenLoopResponse, runOpenLoop } from '../../loadgen/open-loop.js'
import type { RequestSpec } from '../../loadgen/request.js'
import type { Random } from '../../random.js'

/**
 * One open-loop run of composes whose response bodies the caller needs (the post id of each 202): the
 * sender's own options, with `next` building each compose in place of a request source.
 */
export interface ComposeLoadOptions extends Omit<OpenLoopOptions, 'source' | 'onResponse'> {
  /** The next compose request. */
  next: (random: Random) => RequestSpec
  /** Called for each response of the window: `intended` send time, `at` arrival, both `performance.now()`. */
  onResponse?: (response: OpenLoopResponse) => void
}

/** What a compose run measured over its window. */
export interface ComposeLoadResult {
  offered_rps: number
  scheduled: number
  /** 2xx answers among the scheduled. */
  accepted: number
  achieved_rps: number
  /** Answers by status (`202`, `503`) or failure kind (`timeout`, `socket`, `unfinished`, `overflow`). */
  by_status: Record<string, number>
  /** From intended send time to the 2xx answer, open loop (a stalled server shows in the tail). */
  accept: LatencySummary
  /** The same over every answer, failures included. */
  all: LatencySummary
  schedule_lag_p99_ms: number
  sender_cpu: number
  server_cpu?: number
  /** Busy cores of the whole machine over the window (/proc/stat): everything else running shows here. */
  machine_cpu?: number
  /** `performance.now()` at the window's end (the last intended send time). */
  window_end: number
  window_s: number
}

/**
 * Sends composes open loop with the kit's sender (`loadgen/open-loop.ts`) and hands every answer of the
 * window, body included, to `onResponse`; the acceptance latency counts 2xx answers only.
 *
 * @example
 * const burst = await runComposeLoad({ ...shape, ratePerSecond: 2000, warmupMs: 0, durationMs: 5000,
 *   next: () => composeSpec }, signal)
 */
export async function runComposeLoad(
  options: ComposeLoadOptions,
  signal: AbortSignal,
): Promise<ComposeLoadResult> {
  const accept = createLatencyHistogram()
  const byStatus: Record<string, number> = {}
  let accepted = 0
  const { next, onResponse, ...rest } = options
  const step = await runOpenLoop(
    {
      ...rest,
      source: (random) => ({ ...next(random), page: true }),
      onResponse(response) {
        byStatus[response.outcome] = (byStatus[response.outcome] ?? 0) + 1
        if (response.status >= 200 && response.status < 300) {
          accepted++
          recordLatencyMs(accept, response.at - response.intended)
        }
        onResponse?.(response)
      },
    },
    signal,
  )
  // Requests never answered: not sent (too many in flight) or still out at the end of the drain.
  for (const key of ['overflow', 'unfinished']) {
    const n = step.errors_by_status[key]
    if (n) byStatus[key] = n
  }
  const durationS = options.durationMs / 1000
  return {
    offered_rps: options.ratePerSecond,
    scheduled: step.scheduled,
    accepted,
    achieved_rps: Math.round((accepted / durationS) * 10) / 10,
    by_status: byStatus,
    accept: summarizeLatency(accept),
    all: step.latency,
    schedule_lag_p99_ms: step.schedule_lag_p99_ms,
    sender_cpu: step.sender_cpu,
    ...(step.server_cpu === undefined ? {} : { server_cpu: step.server_cpu }),
    ...(step.machine_cpu === undefined ? {} : { machine_cpu: step.machine_cpu }),
    window_end: step.window_end,
    window_s: durationS,
  }
}
