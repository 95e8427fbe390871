import { performance } from 'node:perf_hooks'

/** What one spin loop saw on one core: how much of the wall time the loop did not run. */
export interface StallFigures {
  /** Share of the wall time spent in gaps > 0.5 ms between successive clock reads (vCPU stalls). */
  stall_fraction_over_0_5ms: number
  /** Gaps > 1 ms per second of wall time. */
  stalls_over_1ms_per_s: number
  /** The longest gap, in milliseconds. */
  stall_max_ms: number
  /** Share of the wall time spent in gaps > 50 µs (shorter preemptions, interrupts, host exits). */
  gap_fraction_over_50us: number
}

/** Spins this long before measuring, so that the loop is optimised (on-stack replacement) before it counts. */
const WARMUP_MS = 200

/**
 * Reads `performance.now()` in a tight loop for `durationMs` and measures the gaps between successive reads.
 * A read costs tens of nanoseconds, so on an idle, dedicated core every gap is well under a microsecond;
 * a longer one is time the process was not running — on a VM mostly time the vCPU was not scheduled by the
 * host. The loop allocates nothing (no GC pause can land in it) and yields to nothing, so it blocks its
 * thread for the whole duration: run it in a process of its own.
 *
 * @example
 * const figures = spinForGaps(3000) // { stall_fraction_over_0_5ms: 0.006, stall_max_ms: 4.2, ... }
 */
export function spinForGaps(durationMs: number): StallFigures {
  spin(WARMUP_MS)
  return spin(durationMs)
}

function spin(durationMs: number): StallFigures {
  const start = performance.now()
  const end = start + durationMs
  let last = start
  let over50us = 0
  let over500us = 0
  let over1msCount = 0
  let max = 0
  for (;;) {
    const now = performance.now()
    const gap = now - last
    last = now
    if (gap > 0.05) {
      over50us += gap
      if (gap > 0.5) over500us += gap
      if (gap > 1) over1msCount++
      if (gap > max) max = gap
    } else if (gap > max) max = gap
    if (now >= end) break
  }
  const wallMs = last - start
  return {
    stall_fraction_over_0_5ms: significant(over500us / wallMs),
    stalls_over_1ms_per_s: significant(over1msCount / (wallMs / 1000)),
    stall_max_ms: significant(max),
    gap_fraction_over_50us: significant(over50us / wallMs),
  }
}

/** Four significant digits: the figures vary far more than that from run to run. */
function significant(value: number): number {
  return value === 0 || !Number.isFinite(value) ? 0 : Number(value.toPrecision(4))
}
