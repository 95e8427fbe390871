import type { Endpoint } from './endpoint.js'
import type { OutlierEjectionOptions } from './options.js'

/**
 * Outlier ejection: `consecutiveFailures` failures in a row eject an endpoint for
 * `baseEjectionMs × 2^(n-1)` (capped at `maxEjectionMs`), n counting ejections that follow each other
 * without a healthy spell of `maxEjectionMs`. The balancer refuses an ejection that would take out more than
 * `maxEjectedPercent` of the endpoints. @internal
 */
export class OutlierDetector {
  readonly #options: Readonly<Required<OutlierEjectionOptions>>

  constructor(options: Readonly<Required<OutlierEjectionOptions>>) {
    this.#options = options
  }

  /** Counts a try's outcome; `true` if the endpoint should now be ejected. */
  record(endpoint: Endpoint, failed: boolean): boolean {
    if (!failed) {
      endpoint.consecutiveFailures = 0
      return false
    }
    endpoint.consecutiveFailures++
    return endpoint.consecutiveFailures >= this.#options.consecutiveFailures
  }

  /** Ejects the endpoint; returns how long for. */
  eject(endpoint: Endpoint, now: number): number {
    const { baseEjectionMs, maxEjectionMs } = this.#options
    if (now - endpoint.ejectedUntil > maxEjectionMs) endpoint.ejectionLevel = 0
    endpoint.ejectionLevel++
    const ms = Math.min(maxEjectionMs, baseEjectionMs * 2 ** (endpoint.ejectionLevel - 1))
    endpoint.ejectedUntil = now + ms
    endpoint.ejections++
    endpoint.consecutiveFailures = 0
    return ms
  }
}
