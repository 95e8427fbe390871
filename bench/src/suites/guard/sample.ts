import { build, type Histogram } from 'hdr-histogram-js'

/** What one or more measurement windows of one contender produced. Latencies are in nanoseconds. */
export interface Sample {
  /** Calls (or requests) completed in the throughput windows. */
  calls: number
  /** Length of the throughput windows, in seconds. */
  seconds: number
  /** Calls that failed where they should not have (a refusal, a non-2xx, an error). */
  errors: number
  /** One latency per call of the latency windows, in ns. */
  histogram: Histogram
  /** CPU seconds of the server process over the throughput windows (HTTP only). */
  serverCpuSeconds?: number
}

/** One measurement window of a contender. */
export type Window = (signal: AbortSignal) => Promise<Sample>

/** The windows of one policy's contenders, and what to close after. */
export interface Contenders<K extends string> {
  windows: Record<K, Window>
  close(): Promise<void>
}

const HIGHEST_NS = 60_000_000_000

/** An HDR histogram for latencies in nanoseconds, 3 significant digits, up to a minute. */
export function nsHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
  })
}

/** Records one latency given in nanoseconds, clamped to the histogram's range. */
export function recordNs(histogram: Histogram, ns: number): void {
  histogram.recordValue(Math.min(HIGHEST_NS, Math.max(1, Math.round(ns))))
}

/** An empty sample, to add windows into. */
export function emptySample(): Sample {
  return { calls: 0, seconds: 0, errors: 0, histogram: nsHistogram() }
}

/** Adds `from` into `into`. */
export function addSample(into: Sample, from: Sample): void {
  into.calls += from.calls
  into.seconds += from.seconds
  into.errors += from.errors
  into.histogram.add(from.histogram)
  if (from.serverCpuSeconds !== undefined) {
    into.serverCpuSeconds = (into.serverCpuSeconds ?? 0) + from.serverCpuSeconds
  }
}

/**
 * Runs `rounds` rounds of one window per contender, the contenders in turn, and adds each contender's
 * windows up. Taken in turn, the contenders see the same spells of VM noise, so their ratios hold better
 * than any one figure.
 *
 * @example
 * const samples = await alternateRounds({ bare, ours, peer }, 3, signal)
 */
export async function alternateRounds<K extends string>(
  windows: Readonly<Record<K, Window>>,
  rounds: number,
  signal: AbortSignal,
): Promise<Record<K, Sample>> {
  const names = Object.keys(windows) as K[]
  const totals = Object.fromEntries(names.map((name) => [name, emptySample()])) as Record<K, Sample>
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      signal.throwIfAborted()
      addSample(totals[name], await windows[name](signal))
    }
  }
  return totals
}
