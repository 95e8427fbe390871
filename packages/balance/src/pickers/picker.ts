/**
 * What a {@link Picker} sees of an endpoint. The balancer's own endpoints implement it; the picker
 * contract suite uses plain objects.
 */
export interface PickerEndpoint {
  /** `http://host:port`. */
  readonly origin: string
  /** The weight discovery gave the endpoint (1 unless a source says otherwise). */
  readonly weight: number
  /** Tries in flight on the endpoint now. */
  readonly outstanding: number
  /** The share of its weight the endpoint gets while it ramps up after (re)admission: (0, 1]. */
  slowStartFactor(now: number): number
  /** Starts the slow-start ramp again, when a picker readmits an endpoint it had taken out. */
  restartSlowStart(now: number): void
}

/** One try on an endpoint, as the balancer reports it to the picker. */
export interface PickerAttempt<E extends PickerEndpoint = PickerEndpoint> {
  readonly endpoint: E
  /** When the try was sent (the balancer's clock, ms). */
  readonly startedAt: number
}

/** How a try ended. */
export interface PickerOutcome {
  /**
   * `success`: a response that is not a server failure; `failure`: a connection error or a 5xx that counts
   * against the endpoint; `cancelled`: the caller aborted or the try was abandoned for a reason that
   * says nothing about the endpoint (neither good nor bad).
   */
  readonly kind: 'success' | 'failure' | 'cancelled'
  /** How long the try took, in ms (to the response headers, or to the error). */
  readonly latencyMs: number
}

/** What a picker tells `balancer.endpoints()` about an endpoint. */
export interface PickerView {
  /** The effective weight (or, for cost-based pickers, the inverse of the cost) the picker uses. */
  weight?: number
  /** The dynamic-weight score. */
  score?: number
  /** A picker's own state name (`healthy`, `breathing`, `dead`, `probing`, …). */
  state?: string
  /** The picker's latency estimate, in ms. */
  latencyMs?: number
}

/**
 * Chooses the endpoint for each try. Made by a factory (`dynamicWeight()`, `p2cPeakEwma()`, …); one
 * picker serves one balancer. `pick` gets the endpoints the balancer considers healthy (or, in panic
 * mode, all of them) minus the ones this request already tried, never an empty list, and returns one of
 * them; it returns `undefined` only when its own state rules every candidate out (a dead endpoint), and
 * the balancer then asks again with `force: true`, when it must return one.
 *
 * @example
 * const first: Picker = { name: 'first', pick: (candidates) => candidates[0] }
 */
export interface Picker {
  /** A short name for metrics and snapshots (`round-robin`, `p2c-peak-ewma`, …). */
  readonly name: string
  pick<E extends PickerEndpoint>(candidates: readonly E[], now: number, force?: boolean): E | undefined
  /** A try was sent to `attempt.endpoint`. */
  onStart?(attempt: PickerAttempt, now: number): void
  /** The try ended (called once per `onStart`). */
  onEnd?(attempt: PickerAttempt, outcome: PickerOutcome, now: number): void
  /**
   * A timeout for the try about to be sent to `endpoint` (asked right after `pick`). The dynamic-weight
   * picker gives its probes the critical latency, so a probe of a still-slow endpoint is abandoned and
   * retried elsewhere; if it cannot be retried, it runs on. `undefined`: none.
   */
  tryTimeoutMs?(endpoint: PickerEndpoint, now: number): number | undefined
  /** The endpoint left the set; drop its state. */
  remove?(endpoint: PickerEndpoint): void
  /** The picker's view of an endpoint, for `balancer.endpoints()` and metrics. */
  describe?(endpoint: PickerEndpoint, now: number): PickerView
}

/** Effective weight: discovery weight × slow-start share. @internal */
export function effectiveWeight(endpoint: PickerEndpoint, now: number): number {
  return endpoint.weight * endpoint.slowStartFactor(now)
}

/** Index in [0, n) from `random`, which returns [0, 1). @internal */
export function randomIndex(n: number, random: () => number): number {
  return Math.min(n - 1, Math.floor(random() * n))
}

/** Weighted random choice; `weights[i]` ≥ 0; `undefined` if all are 0. @internal */
export function weightedChoice<E>(
  candidates: readonly E[],
  weights: readonly number[],
  random: () => number,
): E | undefined {
  let total = 0
  for (const w of weights) total += w
  if (!(total > 0)) return undefined
  let point = random() * total
  for (let i = 0; i < candidates.length; i++) {
    const w = weights[i]!
    if (w <= 0) continue
    point -= w
    if (point < 0) return candidates[i]
  }
  // Rounding left `point` at ≥ 0: the last candidate with weight.
  for (let i = candidates.length - 1; i >= 0; i--) if (weights[i]! > 0) return candidates[i]
  return undefined
}
