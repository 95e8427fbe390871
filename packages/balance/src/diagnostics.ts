import * as diagnostics from 'node:diagnostics_channel'

/**
 * `diagnostics_channel` names this package publishes on. Subscribe to observe without a logger:
 *
 * - `hundredfold:balance:eject` `{ balancer, endpoint, reason, ejectedMs, ejections }` — outlier ejection
 *   (`reason: 'outlier'`) or a failing health check (`'health-check'`).
 * - `hundredfold:balance:readmit` `{ balancer, endpoint, reason }` — the endpoint takes traffic again
 *   (with slow start).
 * - `hundredfold:balance:retry` `{ balancer, endpoint, reason }` — a failed try is retried
 *   on another endpoint.
 * - `hundredfold:balance:discovery` `{ balancer, added, removed }` — the endpoint set changed.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(BALANCE_CHANNELS.eject, (event) => log.warn(event, 'endpoint ejected'))
 */
export const BALANCE_CHANNELS = Object.freeze({
  eject: 'hundredfold:balance:eject',
  readmit: 'hundredfold:balance:readmit',
  retry: 'hundredfold:balance:retry',
  discovery: 'hundredfold:balance:discovery',
})

/** What `hundredfold:balance:eject` carries. */
export interface EjectEvent {
  balancer: string
  endpoint: string
  reason: 'outlier' | 'health-check'
  /** How long the endpoint stays out (for `health-check`: until it passes again, so `Infinity`). */
  ejectedMs: number
  ejections: number
}

/** What `hundredfold:balance:readmit` carries. */
export interface ReadmitEvent {
  balancer: string
  endpoint: string
  reason: 'outlier' | 'health-check'
}

/** What `hundredfold:balance:retry` carries. */
export interface RetryEvent {
  balancer: string
  /** The endpoint whose try failed. */
  endpoint: string
  /** `status 503`, `ECONNREFUSED`, `try timeout`, … */
  reason: string
}

/** What `hundredfold:balance:discovery` carries. */
export interface DiscoveryEvent {
  balancer: string
  added: string[]
  removed: string[]
}

/** @internal */
export const channels = {
  eject: diagnostics.channel(BALANCE_CHANNELS.eject),
  readmit: diagnostics.channel(BALANCE_CHANNELS.readmit),
  retry: diagnostics.channel(BALANCE_CHANNELS.retry),
  discovery: diagnostics.channel(BALANCE_CHANNELS.discovery),
}
