import { Dispatcher } from 'undici'
import type { Attempt } from './attempt.js'
import { BalancedRequest, type RequestHost } from './balanced-request.js'
import { type Clock, monotonic } from './clock.js'
import { channels } from './diagnostics.js'
import type { DiscoveredEndpoint } from './discovery/discovery.js'
import { staticDiscovery } from './discovery/static.js'
import type { Endpoint, EndpointSnapshot } from './endpoint.js'
import { EndpointSet } from './endpoint-set.js'
import { BalanceError } from './errors.js'
import { toHandler } from './handler.js'
import { HealthChecker } from './health-check.js'
import { BalancerMetrics } from './metrics.js'
import { type BalancerOptions, type ResolvedBalancerOptions, resolveBalancerOptions } from './options.js'
import { OutlierDetector } from './outlier.js'
import type { PickerOutcome } from './pickers/picker.js'
import { RetryBudget } from './retry-budget.js'
import { checkEndpoints } from './validate.js'

/**
 * Client-side load balancing as an undici `Dispatcher`: pass it as `dispatcher` to undici's `request` or
 * `fetch` (the origin of the URL is replaced by the picked endpoint's), or call `balancer.request(...)`
 * with a path. Each endpoint is a keep-alive undici `Pool`.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * import { request } from 'undici'
 * const users = new Balancer({ endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] })
 * const { statusCode, body } = await request('http://users/v1/users/42', { dispatcher: users })
 * console.log(statusCode, await body.json())
 * await users.close()
 */
export class Balancer extends Dispatcher implements RequestHost {
  readonly #options: ResolvedBalancerOptions
  readonly #clock: Clock
  readonly #set: EndpointSet
  #ready = false
  #waiting: BalancedRequest[] = []
  #closed = false
  readonly #stop = new AbortController()
  readonly #budget: RetryBudget | undefined
  readonly #health: HealthChecker | undefined
  readonly #metrics: BalancerMetrics | undefined

  constructor(options: BalancerOptions) {
    super()
    this.#options = resolveBalancerOptions(options)
    this.#clock = this.#options.now ?? monotonic
    const { retry, outlierEjection, healthCheck, metrics, name } = this.#options
    if (retry !== false) {
      const { budgetPercent: percent, budgetMinPerSecond: minPerSecond, budgetTtlMs: ttlMs } = retry
      this.#budget = new RetryBudget({ percent, minPerSecond, ttlMs }, this.#clock())
    }
    if (metrics !== undefined) this.#metrics = new BalancerMetrics(metrics, name, () => this.endpoints())
    const outlier = outlierEjection === false ? undefined : new OutlierDetector(outlierEjection)
    this.#set = new EndpointSet(this.#options, outlier, this.#metrics)
    if (healthCheck !== false) {
      this.#health = new HealthChecker(healthCheck, {
        endpoints: () => this.#set.all,
        changed: (endpoint, healthy) => this.#set.setHealthy(endpoint, healthy, this.#clock()),
        onError: this.#options.onError,
      })
    }
    const discovery = this.#options.discovery ?? staticDiscovery(this.#options.endpoints ?? [])
    discovery.watch(
      {
        update: (endpoints) => this.#update(endpoints, discovery.name),
        error: (error) => this.#discoveryError(error),
      },
      this.#stop.signal,
    )
  }

  /** The picker's name (`dynamic-weight`, `p2c-peak-ewma`, …). */
  get picker(): string {
    return this.#options.picker.name
  }

  /** Whether `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  /** Whether the balancer balances over all endpoints ignoring health (too many are out). */
  get panic(): boolean {
    return this.#set.panic
  }

  /**
   * The undici dispatch entry point; `request`, `stream`, `pipeline` and `fetch` call it. `opts.origin` is
   * ignored: each try goes to the picked endpoint.
   *
   * @example
   * balancer.dispatch({ path: '/x', method: 'GET' }, handler)
   */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (handler === null || typeof handler !== 'object') throw new TypeError('handler must be an object')
    const request = new BalancedRequest(this, opts, toHandler(handler))
    if (!request.begin()) return true
    if (this.#ready || this.#closed) request.send()
    // The first discovery result is still on its way.
    else this.#waiting.push(request)
    return true
  }

  /**
   * What the balancer knows of each endpoint now (draining ones included until their pools close).
   *
   * @example
   * for (const e of balancer.endpoints()) console.log(e.origin, e.state, e.outstanding, e.ewmaMs)
   */
  endpoints(): EndpointSnapshot[] {
    const now = this.#clock()
    this.#set.expire(now)
    const picker = this.#options.picker
    return [...this.#set.known].map((e) => {
      const view = picker.describe?.(e, now) ?? {}
      return {
        origin: e.origin,
        state: e.state,
        weight: e.weight,
        effectiveWeight: view.weight,
        score: view.score,
        pickerState: view.state,
        outstanding: e.outstanding,
        ewmaMs: e.latency.get(now),
        slowStart: e.slowStartFactor(now),
        ejections: e.ejections,
        consecutiveFailures: e.consecutiveFailures,
        requests: e.requests,
        failures: e.failures,
      }
    })
  }

  /**
   * Stops discovery and health checks, lets tries in flight finish, then closes every pool.
   *
   * @example
   * await balancer.close()
   */
  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#shutdown((pool) => pool.close())
    if (callback === undefined) return done
    done.then(callback, callback)
  }

  /**
   * Like `close()`, but aborts tries in flight.
   *
   * @example
   * await balancer.destroy()
   */
  override destroy(): Promise<void>
  override destroy(error: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(error: Error | null, callback: () => void): void
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const error = typeof a === 'function' ? null : (a ?? null)
    const callback = typeof a === 'function' ? a : b
    const done = this.#shutdown((pool) => pool.destroy(error))
    if (callback === undefined) return done
    done.then(callback, callback)
  }

  // RequestHost: what each BalancedRequest calls. Public for it, not part of the documented API.

  /** @internal */
  get retry(): ResolvedBalancerOptions['retry'] {
    return this.#options.retry
  }

  /** @internal */
  get perTryTimeoutMs(): number | false {
    return this.#options.perTryTimeoutMs
  }

  /** @internal */
  now(): number {
    return this.#clock()
  }

  /** @internal */
  hasEndpoints(): boolean {
    return this.#set.all.length > 0
  }

  /** @internal */
  hasCandidate(tried: ReadonlySet<Endpoint>): boolean {
    return this.#set.candidates(tried, this.#clock()).length > 0
  }

  /** @internal */
  choose(tried: ReadonlySet<Endpoint>): Endpoint | undefined {
    const now = this.#clock()
    const candidates = this.#set.candidates(tried, now)
    if (candidates.length === 0) return undefined
    const picker = this.#options.picker
    return picker.pick(candidates, now) ?? picker.pick(candidates, now, true) ?? candidates[0]
  }

  /** @internal */
  pickerTimeoutMs(endpoint: Endpoint): number | undefined {
    return this.#options.picker.tryTimeoutMs?.(endpoint, this.#clock())
  }

  /** @internal */
  deposit(): void {
    this.#budget?.deposit(this.#clock())
  }

  /** @internal */
  withdrawRetry(): boolean {
    return this.#budget?.tryWithdraw(this.#clock()) ?? false
  }

  /** @internal */
  tryStarted(attempt: Attempt): void {
    const endpoint = attempt.endpoint
    endpoint.outstanding++
    endpoint.requests++
    this.#options.picker.onStart?.(attempt, attempt.startedAt)
    this.#metrics?.request(endpoint.origin)
  }

  /** @internal */
  tryEnded(attempt: Attempt, outcome: PickerOutcome): void {
    const endpoint = attempt.endpoint
    const now = this.#clock()
    endpoint.outstanding--
    this.#options.picker.onEnd?.(attempt, outcome, now)
    if (outcome.kind === 'cancelled') return
    endpoint.latency.observe(outcome.latencyMs, now)
    const failed = outcome.kind === 'failure'
    if (failed) {
      endpoint.failures++
      this.#metrics?.failure(endpoint.origin)
    }
    if (!endpoint.draining) this.#set.recordOutcome(endpoint, failed, now)
  }

  /** @internal */
  retrying(attempt: Attempt, reason: string): void {
    this.#metrics?.retry()
    if (channels.retry.hasSubscribers) {
      channels.retry.publish({ balancer: this.#options.name, endpoint: attempt.endpoint.origin, reason })
    }
  }

  /** @internal */
  budgetExhausted(): void {
    this.#metrics?.budgetExhausted()
  }

  #update(list: readonly DiscoveredEndpoint[], source: string): void {
    if (this.#closed) return
    let endpoints: DiscoveredEndpoint[]
    try {
      endpoints = checkEndpoints(list, `${source} discovery`)
    } catch (error) {
      const message = `${source} discovery returned an invalid endpoint`
      this.#discoveryError(new BalanceError('E_DISCOVERY', message, { source }, { cause: error }))
      return
    }
    // The first set takes full traffic at once; endpoints added later ramp up.
    const initial = !this.#ready
    this.#set.update(endpoints, this.#clock(), !initial)
    if (!initial) return
    this.#ready = true
    this.#health?.start()
    const waiting = this.#waiting
    this.#waiting = []
    for (const request of waiting) request.send()
  }

  #discoveryError(error: BalanceError): void {
    this.#options.onError(error)
    if (this.#ready) return
    // Requests waiting for the first set fail rather than hang; later ones wait for the next read.
    const waiting = this.#waiting
    this.#waiting = []
    for (const request of waiting) request.fail(error)
  }

  async #shutdown(end: (pool: Endpoint['pool']) => Promise<void>): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#stop.abort()
      this.#health?.stop()
      this.#metrics?.close()
      const waiting = this.#waiting
      this.#waiting = []
      for (const request of waiting) request.fail(new BalanceError('E_CLOSED', 'the balancer was closed'))
    }
    await this.#set.end(end)
  }
}
