import { invalidOption } from '../errors.js'

/** Options of {@link dynamicWeight}. Every default is in `dynamicWeightDefaults`. */
export interface DynamicWeightOptions {
  /** The score of a healthy endpoint, and the cap. @default 100 */
  maxScore?: number
  /** What a success adds. @default 1 */
  successIncrement?: number
  /** What a failure (error, 5xx, or a try slower than the critical latency) subtracts. @default 25 */
  failurePenalty?: number
  /** Below this score the endpoint takes a small breath. @default 50 */
  breathThreshold?: number
  /** A small breath lasts at least this long, and until the score is back at `breathThreshold`. @default 5_000 */
  breathMs?: number
  /** During a small breath the endpoint's weight is multiplied by this. @default 0.1 */
  breathShare?: number
  /** Failures in a row (or a score of 0) that make the endpoint dead: a big breath. @default 5 */
  deadAfterFailures?: number
  /** A dead endpoint's first probe comes after this long; each failed probe doubles it. @default 1_000 */
  probeBaseMs?: number
  /** The cap on the wait between probes. @default 30_000 */
  probeMaxMs?: number
  /**
   * A try in flight (or done) longer than this counts as a failure, before it completes. `'auto'`:
   * `criticalLatencyFactor` × the median of the endpoints' latency EWMAs, at least `minCriticalLatencyMs`
   * (and `initialCriticalLatencyMs` until the first response). @default 'auto'
   */
  criticalLatencyMs?: number | 'auto'
  /** @default 10 */
  criticalLatencyFactor?: number
  /** @default 50 */
  minCriticalLatencyMs?: number
  /** @default 1_000 */
  initialCriticalLatencyMs?: number
  /** At most this share of endpoints is dead or breathing at once; others stay at reduced score. @default 50 */
  maxOutPercent?: number
  /** Random numbers in [0, 1). @default Math.random */
  random?: () => number
}

/** The defaults of {@link DynamicWeightOptions}. */
export const dynamicWeightDefaults = Object.freeze({
  maxScore: 100,
  successIncrement: 1,
  failurePenalty: 25,
  breathThreshold: 50,
  breathMs: 5_000,
  breathShare: 0.1,
  deadAfterFailures: 5,
  probeBaseMs: 1_000,
  probeMaxMs: 30_000,
  criticalLatencyMs: 'auto' as number | 'auto',
  criticalLatencyFactor: 10,
  minCriticalLatencyMs: 50,
  initialCriticalLatencyMs: 1_000,
  maxOutPercent: 50,
})

/** @internal */
export type ResolvedDynamicWeightOptions = Readonly<Required<DynamicWeightOptions>>

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveDynamicWeightOptions(options: DynamicWeightOptions): ResolvedDynamicWeightOptions {
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined))
  const o = { ...dynamicWeightDefaults, random: Math.random, ...given } as Required<DynamicWeightOptions>
  const positive = [
    'maxScore',
    'successIncrement',
    'failurePenalty',
    'breathMs',
    'probeBaseMs',
    'probeMaxMs',
    'criticalLatencyFactor',
    'minCriticalLatencyMs',
    'initialCriticalLatencyMs',
  ] as const
  for (const name of positive) {
    const value = o[name]
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw invalidOption(`options.${name}`, 'must be a positive number', value)
    }
  }
  if (!(o.breathThreshold >= 0 && o.breathThreshold <= o.maxScore)) {
    throw invalidOption('options.breathThreshold', 'must be in [0, maxScore]', o.breathThreshold)
  }
  if (!(o.breathShare > 0 && o.breathShare <= 1)) {
    throw invalidOption('options.breathShare', 'must be in (0, 1]', o.breathShare)
  }
  if (!(Number.isInteger(o.deadAfterFailures) && o.deadAfterFailures >= 1)) {
    throw invalidOption('options.deadAfterFailures', 'must be an integer ≥ 1', o.deadAfterFailures)
  }
  if (o.probeMaxMs < o.probeBaseMs)
    throw invalidOption('options.probeMaxMs', 'must be ≥ probeBaseMs', o.probeMaxMs)
  const critical = o.criticalLatencyMs
  if (critical !== 'auto' && !(typeof critical === 'number' && critical > 0 && Number.isFinite(critical))) {
    throw invalidOption('options.criticalLatencyMs', "must be a positive number or 'auto'", critical)
  }
  if (!(o.maxOutPercent >= 0 && o.maxOutPercent <= 100)) {
    throw invalidOption('options.maxOutPercent', 'must be a percentage in [0, 100]', o.maxOutPercent)
  }
  if (typeof o.random !== 'function') throw invalidOption('options.random', 'must be a function', o.random)
  return Object.freeze(o)
}
