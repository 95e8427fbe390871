import { BenchError } from '../../errors.js'
import type { RawLoadResult } from '../../loadgen/raw-load.js'

/** Several open-loop windows at the same rate against one server, and the one whose p99 is their median. */
export interface OpenWindows {
  /** The window with the median p99: the one reported. */
  median: RawLoadResult
  /** Every window, in the order they ran. */
  windows: RawLoadResult[]
}

/**
 * Runs `count` rounds of one window per server (`window(key, seed)`, every key in turn, seeds `seed`,
 * `seed + 1`, … per round) and picks, per server, the window with the median p99 (the lower middle one for
 * an even count).
 *
 * Why interleaved: on a VM the p99 of one 8-second window is decided by a handful of vCPU stalls the host
 * chose to make, and they come and go over minutes. Windows of the servers taken in turn see the same
 * spells of noise, so their ratio holds better than either figure; the median of three is the figure the
 * next run is most likely to reproduce, and it is a measured window, not a blend.
 *
 * @example
 * const { service, hello } = await interleavedWindows(['service', 'hello'], (key, seed) => runOpen(key, seed), 1)
 */
export async function interleavedWindows<K extends string>(
  keys: readonly K[],
  window: (key: K, seed: number) => Promise<RawLoadResult>,
  seed: number,
  count = 3,
): Promise<Record<K, OpenWindows>> {
  if (!Number.isInteger(count) || count < 1) {
    throw new BenchError('E_BENCH_OPTION', 'interleavedWindows needs a whole number of windows ≥ 1', {
      context: { count },
    })
  }
  const runs = new Map<K, RawLoadResult[]>(keys.map((key) => [key, []]))
  for (let round = 0; round < count; round++) {
    for (const key of keys) runs.get(key)!.push(await window(key, seed + round))
  }
  return Object.fromEntries(
    keys.map((key) => {
      const windows = runs.get(key)!
      const sorted = [...windows].sort((a, b) => a.latency.p99_ms - b.latency.p99_ms)
      return [key, { median: sorted[Math.floor((sorted.length - 1) / 2)]!, windows }]
    }),
  ) as Record<K, OpenWindows>
}

/** The windows' p99s in milliseconds, in the order they ran: `'0.64, 1.61, 0.78'`. */
export function windowP99s({ windows }: OpenWindows): string {
  return windows.map((w) => w.latency.p99_ms).join(', ')
}

/** Errors (including requests unanswered at the end) per scheduled request, over every window. */
export function errorRate({ windows }: OpenWindows): number {
  const scheduled = windows.reduce((sum, w) => sum + w.scheduled, 0)
  const errors = windows.reduce((sum, w) => sum + w.errors, 0)
  return scheduled === 0 ? 0 : Math.round((errors / scheduled) * 1e6) / 1e6
}
