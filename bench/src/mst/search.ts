import { throwIfAborted } from '../errors.js'

/** The part of a step's outcome the search judges. */
export interface ProbeOutcome {
  offered_rps: number
  completion_ratio: number
  error_rate: number
  latency: { p99_ms: number }
}

/** What "sustainable" means besides the latency SLO. */
export interface MstCriteria {
  /** Achieved must be at least this share of offered. @default 0.99 */
  minCompletionRatio: number
  /** Errors must stay below this share. @default 0.001 */
  maxErrorRate: number
}

/** @default criteria of the issue: achieved ≥ 99% of offered, errors < 0.1%. */
export const DEFAULT_CRITERIA: Readonly<MstCriteria> = Object.freeze({
  minCompletionRatio: 0.99,
  maxErrorRate: 0.001,
})

/** True when a step sustains its offered rate under the SLO. */
export function sustains(
  outcome: ProbeOutcome,
  sloMs: number,
  criteria: MstCriteria = DEFAULT_CRITERIA,
): boolean {
  return (
    outcome.completion_ratio >= criteria.minCompletionRatio &&
    outcome.error_rate < criteria.maxErrorRate &&
    outcome.latency.p99_ms <= sloMs
  )
}

/** Options of the MST search. */
export interface MstSearchOptions {
  /** p99 SLOs in ms; the loosest is searched first and bounds the others. */
  slosMs: readonly number[]
  /** First offered rate. */
  startRate: number
  /** Factor by which the rate grows while every step passes. @default 2 */
  growth: number
  minRate: number
  maxRate: number
  /** Stop bisecting once the bracket is within this share of its upper end. @default 0.05 */
  precision: number
  /** Hard cap on the number of steps (each costs warm-up + measurement). */
  maxSteps: number
  criteria?: MstCriteria
  onStep?: (step: MstStep<ProbeOutcome>) => void
}

/** One probed rate and its verdict per SLO. */
export interface MstStep<T extends ProbeOutcome> {
  rate: number
  outcome: T
  sustains: Record<string, boolean>
}

/** The search's answer: MST per SLO (0 when even the lowest rate failed). */
export interface MstSearchResult<T extends ProbeOutcome> {
  /** Keyed by SLO in ms, e.g. `{ '50': 1200, '10': 800 }`. */
  mst: Record<string, number>
  /** True per SLO when no step above the MST failed (`maxRate` or `maxSteps` reached): the MST may be higher. */
  capped: Record<string, boolean>
  steps: MstStep<T>[]
}

/**
 * Finds the maximum sustainable throughput by bisection: grow the rate until a step fails, then halve the
 * bracket between the highest passing and the lowest failing rate until it is within `precision`.
 * Steps already probed are reused for the tighter SLOs.
 *
 * @example
 * const { mst } = await searchMst((rate, s) => runOpenLoop({ ...base, ratePerSecond: rate }, s),
 *   { slosMs: [50, 10], startRate: 100, growth: 2, minRate: 10, maxRate: 50_000, precision: 0.05, maxSteps: 14 },
 *   signal)
 */
export async function searchMst<T extends ProbeOutcome>(
  probe: (rate: number, signal: AbortSignal) => Promise<T>,
  options: MstSearchOptions,
  signal: AbortSignal,
): Promise<MstSearchResult<T>> {
  const criteria = options.criteria ?? DEFAULT_CRITERIA
  const slos = [...options.slosMs].sort((a, b) => b - a)
  const steps: MstStep<T>[] = []
  const byRate = new Map<number, MstStep<T>>()

  const run = async (rate: number): Promise<MstStep<T> | undefined> => {
    const cached = byRate.get(rate)
    if (cached) return cached
    if (steps.length >= options.maxSteps) return undefined
    throwIfAborted(signal)
    const outcome = await probe(rate, signal)
    const verdicts: Record<string, boolean> = {}
    for (const slo of slos) verdicts[String(slo)] = sustains(outcome, slo, criteria)
    const step: MstStep<T> = { rate, outcome, sustains: verdicts }
    steps.push(step)
    byRate.set(rate, step)
    options.onStep?.(step)
    return step
  }

  const bisect = async (slo: number, low: number, high: number): Promise<number> => {
    let lo = low
    let hi = high
    while (Number.isFinite(hi) && hi - lo > options.precision * hi) {
      const mid = lo === 0 ? Math.max(options.minRate, Math.round(hi / 2)) : Math.round((lo + hi) / 2)
      if (mid >= hi || mid <= lo) break
      const step = await run(mid)
      if (!step) break
      if (step.sustains[String(slo)]) lo = mid
      else hi = mid
      if (mid === options.minRate && !step.sustains[String(slo)]) break
    }
    return lo
  }

  const failsAbove = (slo: number, rate: number): boolean =>
    steps.some((s) => s.rate > rate && !s.sustains[String(slo)])

  const mst: Record<string, number> = {}
  const capped: Record<string, boolean> = {}
  const loosest = slos[0]
  if (loosest === undefined) return { mst, capped, steps }

  // Ramp up from the start rate until a step fails (or the cap passes).
  let lo = 0
  let hi = Number.POSITIVE_INFINITY
  let rate = clamp(Math.round(options.startRate), options.minRate, options.maxRate)
  for (;;) {
    const step = await run(rate)
    if (!step) break
    if (!step.sustains[String(loosest)]) {
      hi = rate
      break
    }
    lo = rate
    if (rate >= options.maxRate) break
    rate = clamp(Math.round(rate * options.growth), options.minRate, options.maxRate)
  }
  mst[String(loosest)] = await bisect(loosest, lo, hi)
  capped[String(loosest)] = !failsAbove(loosest, mst[String(loosest)] ?? 0)

  // Tighter SLOs: start from what the steps so far already show.
  for (const slo of slos.slice(1)) {
    const key = String(slo)
    const passing = steps.filter((s) => s.sustains[key]).map((s) => s.rate)
    const low = passing.length === 0 ? 0 : Math.max(...passing)
    const failing = steps.filter((s) => !s.sustains[key] && s.rate > low).map((s) => s.rate)
    const high = failing.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...failing)
    mst[key] = await bisect(slo, low, high)
    capped[key] = !failsAbove(slo, mst[key] ?? 0)
  }
  return { mst, capped, steps }
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value))
