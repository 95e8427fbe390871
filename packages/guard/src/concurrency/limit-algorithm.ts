/**
 * A concurrency-limit algorithm (Netflix concurrency-limits' `Limit`): told of every completed call,
 * it answers the number of calls to let in at once. {@link concurrencyLimiter} enforces it.
 *
 * An algorithm keeps state (averages, the current estimate): give each limiter its own instance.
 *
 * @example
 * const limit: LimitAlgorithm = gradient2({ minLimit: 8, maxLimit: 256 })
 * limit.onSample(12, 10, false) // → the new limit
 */
export interface LimitAlgorithm {
  /** What metrics and events call it: `gradient2`, `vegas`, `aimd`, `fixed`. */
  readonly name: string
  /** The limit to enforce now, an integer ≥ 1. */
  readonly limit: number
  /**
   * One call finished.
   *
   * @param rttMs how long it took, from admission to completion.
   * @param inFlight calls in flight when it was admitted, itself included: far below the limit, the RTT
   *   says nothing about the limit (the load, not the server, was the bound).
   * @param dropped it timed out or was refused downstream: a sign of overload whatever its RTT.
   * @returns the new limit.
   */
  onSample(rttMs: number, inFlight: number, dropped: boolean): number
}
