import type { Endpoint } from './endpoint.js'
import { BalanceError } from './errors.js'
import type { HealthCheckOptions } from './options.js'

/** What the health checker needs of the balancer. @internal */
export interface HealthHost {
  endpoints(): readonly Endpoint[]
  /** The endpoint crossed a threshold: `healthy` is its new standing. */
  changed(endpoint: Endpoint, healthy: boolean): void
  onError(error: unknown): void
}

/**
 * Active health checks: every `intervalMs`, a GET of `path` on each endpoint through its own pool; a
 * status outside 200–399, an error or no answer in `timeoutMs` fails. `unhealthyThreshold` failures in a
 * row take the endpoint out, `healthyThreshold` passes in a row bring it back (with slow start). @internal
 */
export class HealthChecker {
  readonly #options: Readonly<Required<HealthCheckOptions>>
  readonly #host: HealthHost
  readonly #inFlight = new Set<Endpoint>()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: Readonly<Required<HealthCheckOptions>>, host: HealthHost) {
    this.#options = options
    this.#host = host
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return
    this.#timer = setInterval(() => this.checkAll(), this.#options.intervalMs)
    this.#timer.unref()
    this.checkAll()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }

  /** Probes every endpoint not already being probed. */
  checkAll(): void {
    for (const endpoint of this.#host.endpoints()) {
      if (this.#inFlight.has(endpoint)) continue
      this.#inFlight.add(endpoint)
      void this.#check(endpoint).finally(() => this.#inFlight.delete(endpoint))
    }
  }

  async #check(endpoint: Endpoint): Promise<void> {
    let passed: boolean
    try {
      const response = await endpoint.pool.request({
        path: this.#options.path,
        method: 'GET',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        headersTimeout: this.#options.timeoutMs,
      })
      await response.body.dump()
      passed = response.statusCode >= 200 && response.statusCode < 400
    } catch (error) {
      passed = false
      if (!this.#stopped) {
        this.#host.onError(
          new BalanceError(
            'E_HEALTH_CHECK',
            `health check of ${endpoint.origin} failed`,
            {
              endpoint: endpoint.origin,
              source: 'health-check',
            },
            { cause: error },
          ),
        )
      }
    }
    if (this.#stopped || endpoint.draining) return
    this.#record(endpoint, passed)
  }

  #record(endpoint: Endpoint, passed: boolean): void {
    if (passed) {
      endpoint.checkFailures = 0
      endpoint.checkPasses++
      if (!endpoint.healthy && endpoint.checkPasses >= this.#options.healthyThreshold)
        this.#host.changed(endpoint, true)
    } else {
      endpoint.checkPasses = 0
      endpoint.checkFailures++
      if (endpoint.healthy && endpoint.checkFailures >= this.#options.unhealthyThreshold) {
        this.#host.changed(endpoint, false)
      }
    }
  }
}
