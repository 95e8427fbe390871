/**
 * The `diagnostics_channel` events of the concurrency limiter, each on `hundredfold:guard:<event>`:
 *
 * - `concurrency-limit` {@link ConcurrencyLimitEvent}: the limit moved (published only when the integer changes).
 * - `concurrency-limited` {@link ConcurrencyLimitedEvent}: a call was shed with `E_CONCURRENCY_LIMITED`.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(CONCURRENCY_CHANNELS.limit, (event) => log.info(event, 'concurrency limit moved'))
 */
export const CONCURRENCY_CHANNELS = Object.freeze({
  limit: 'hundredfold:guard:concurrency-limit',
  limited: 'hundredfold:guard:concurrency-limited',
})

/** What `concurrency-limit` carries. */
export interface ConcurrencyLimitEvent {
  policy: string
  /** The algorithm's name: `gradient2`, `vegas`, `aimd`, `fixed`. */
  algorithm: string
  previous: number
  limit: number
  /** The sample that moved it. */
  rttMs: number
  dropped: boolean
}

/** What `concurrency-limited` carries. */
export interface ConcurrencyLimitedEvent {
  policy: string
  code: 'E_CONCURRENCY_LIMITED'
  limit: number
  inFlight: number
  /** Set when the call had waited in the limiter's queue. */
  waitedMs?: number
}
