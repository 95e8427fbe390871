import { invalidOption } from '../errors.js'
import { PeakEwma } from '../ewma.js'
import { effectiveWeight, type Picker, type PickerEndpoint, randomIndex } from './picker.js'

/** Options of {@link p2cPeakEwma}. Every default is in `p2cPeakEwmaDefaults`. */
export interface P2cPeakEwmaOptions {
  /** The EWMA's time constant: how fast a peak is forgotten. @default 10_000 */
  decayMs?: number
  /** The latency assumed of a new endpoint when no endpoint has answered yet (later: the pool's mean). @default 10 */
  defaultRttMs?: number
  /** A failed try counts as a response at least this slow, so fast failures do not attract traffic. @default 1_000 */
  failurePenaltyMs?: number
  /** Random numbers in [0, 1). @default Math.random */
  random?: () => number
}

/** The defaults of {@link P2cPeakEwmaOptions}. */
export const p2cPeakEwmaDefaults = Object.freeze({
  decayMs: 10_000,
  defaultRttMs: 10,
  failurePenaltyMs: 1_000,
})

/**
 * Power of two choices over peak EWMA (Finagle's and Linkerd's): draws two distinct endpoints at random and
 * takes the cheaper, cost = latency EWMA × (outstanding + 1) / (weight × slow-start share). A slow response
 * raises the EWMA at once and is forgotten with time constant `decayMs`; a new endpoint starts at the pool's
 * mean (a neutral prior). O(1) per pick, and no herd on the single best endpoint.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * const balancer = new Balancer({ endpoints, picker: p2cPeakEwma({ decayMs: 5_000 }) })
 */
export function p2cPeakEwma(options: P2cPeakEwmaOptions = {}): Picker {
  const decayMs = options.decayMs ?? p2cPeakEwmaDefaults.decayMs
  const defaultRttMs = options.defaultRttMs ?? p2cPeakEwmaDefaults.defaultRttMs
  const penaltyMs = options.failurePenaltyMs ?? p2cPeakEwmaDefaults.failurePenaltyMs
  const random = options.random ?? Math.random
  for (const [name, value] of Object.entries({ decayMs, defaultRttMs, failurePenaltyMs: penaltyMs })) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw invalidOption(`options.${name}`, 'must be a positive number', value)
    }
  }
  if (typeof random !== 'function') throw invalidOption('options.random', 'must be a function', random)
  const ewmas = new Map<PickerEndpoint, PeakEwma>()
  const ewmaOf = (endpoint: PickerEndpoint, now: number): PeakEwma => {
    let ewma = ewmas.get(endpoint)
    if (ewma === undefined) {
      ewma = new PeakEwma(decayMs, now)
      ewmas.set(endpoint, ewma)
    }
    return ewma
  }
  // The neutral prior: the mean estimate of the endpoints that have answered.
  const prior = (now: number): number => {
    let sum = 0
    let n = 0
    for (const ewma of ewmas.values()) {
      if (!ewma.seen) continue
      sum += ewma.get(now)
      n++
    }
    return n === 0 ? defaultRttMs : sum / n
  }
  const latency = (endpoint: PickerEndpoint, now: number): number => {
    const ewma = ewmaOf(endpoint, now)
    return ewma.seen ? ewma.get(now) : prior(now)
  }
  const cost = (endpoint: PickerEndpoint, now: number): number =>
    (latency(endpoint, now) * (endpoint.outstanding + 1)) / effectiveWeight(endpoint, now)
  return {
    name: 'p2c-peak-ewma',
    pick(candidates, now) {
      const n = candidates.length
      if (n <= 1) return candidates[0]
      const i = randomIndex(n, random)
      let j = randomIndex(n - 1, random)
      if (j >= i) j++
      const a = candidates[i]!
      const b = candidates[j]!
      return cost(b, now) < cost(a, now) ? b : a
    },
    onEnd(attempt, outcome, now) {
      if (outcome.kind === 'cancelled') return
      const sample = outcome.kind === 'failure' ? Math.max(outcome.latencyMs, penaltyMs) : outcome.latencyMs
      ewmaOf(attempt.endpoint, now).observe(sample, now)
    },
    remove(endpoint) {
      ewmas.delete(endpoint)
    },
    describe(endpoint, now) {
      const c = cost(endpoint, now)
      return { weight: c > 0 ? 1 / c : Number.POSITIVE_INFINITY, latencyMs: latency(endpoint, now) }
    },
  }
}
