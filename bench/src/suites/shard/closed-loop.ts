import { build } from 'hdr-histogram-js'

/** One call of a contender: the point query for a key. */
export type Run = (key: number) => Promise<unknown>

/** What one window of a contender measured. */
export interface Round {
  calls: number
  seconds: number
  /** CPU (user + system) of this process over the window, µs: the client side of every call. */
  cpuUs: number
  histogram: Histogram
}

/** Calls per second and latency percentiles over a contender's rounds, in µs. */
export interface RoundsSummary {
  calls: number
  qps: number
  p50_us: number
  p99_us: number
  /** This process's CPU per call, µs. */
  cpu_us_per_call: number
}

export type Histogram = ReturnType<typeof build>

/** An HDR histogram in µs (1 µs … 60 s, 3 significant digits), as every bench suite records. */
export function histogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  })
}

/**
 * Closed loop: `connections` workers each call back to back for `ms`, drawing keys from `keys` in a
 * fixed pseudo-random walk (both contenders walk the same keys). Latency in µs.
 */
export async function closedLoop(
  run: Run,
  keys: readonly number[],
  connections: number,
  ms: number,
  signal: AbortSignal,
): Promise<Round> {
  const recorded = histogram()
  let calls = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  const deadline = started + ms
  const worker = async (seed: number) => {
    let at = seed
    while (performance.now() < deadline && !signal.aborted) {
      at = (at * 7919 + 17) % keys.length
      const t0 = performance.now()
      await run(keys[at]!)
      recorded.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
      calls++
    }
  }
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i + 1)))
  const used = process.cpuUsage(cpu)
  return {
    calls,
    seconds: (performance.now() - started) / 1000,
    cpuUs: used.user + used.system,
    histogram: recorded,
  }
}

/** Pools a contender's rounds: total calls over total seconds, percentiles of the merged histogram. */
export function summarize(rounds: readonly Round[]): RoundsSummary {
  const merged = histogram()
  for (const round of rounds) merged.add(round.histogram)
  const calls = rounds.reduce((n, r) => n + r.calls, 0)
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0)
  const cpuUs = rounds.reduce((n, r) => n + r.cpuUs, 0)
  return {
    calls,
    qps: calls / seconds,
    p50_us: merged.getValueAtPercentile(50),
    p99_us: merged.getValueAtPercentile(99),
    cpu_us_per_call: Math.round((cpuUs / calls) * 10) / 10,
  }
}
