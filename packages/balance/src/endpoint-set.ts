import { channels } from './diagnostics.js'
import type { DiscoveredEndpoint } from './discovery/discovery.js'
import { Endpoint } from './endpoint.js'
import type { BalancerMetrics } from './metrics.js'
import type { ResolvedBalancerOptions } from './options.js'
import type { OutlierDetector } from './outlier.js'

/**
 * The balancer's endpoints: adds and drains them as discovery reports, keeps each one's state
 * (active, ejected, unhealthy, draining), the list the picker chooses from, and panic mode. @internal
 */
export class EndpointSet {
  readonly #options: ResolvedBalancerOptions
  readonly #outlier: OutlierDetector | undefined
  readonly #metrics: BalancerMetrics | undefined
  readonly #byOrigin = new Map<string, Endpoint>()
  readonly #draining = new Set<Promise<void>>()
  #all: Endpoint[] = []
  #eligible: Endpoint[] = []
  #panic = false
  #nextExpiry = Number.POSITIVE_INFINITY

  constructor(options: ResolvedBalancerOptions, outlier?: OutlierDetector, metrics?: BalancerMetrics) {
    this.#options = options
    this.#outlier = outlier
    this.#metrics = metrics
  }

  /** Every endpoint not draining. */
  get all(): readonly Endpoint[] {
    return this.#all
  }

  /** Every endpoint, draining ones too (until removed). */
  get known(): IterableIterator<Endpoint> {
    return this.#byOrigin.values()
  }

  /** Pools closing after their endpoint was dropped. */
  get closing(): Iterable<Promise<void>> {
    return this.#draining
  }

  /** Whether the balancer is in panic mode (balancing over all endpoints, ignoring health). */
  get panic(): boolean {
    return this.#panic
  }

  /** The endpoints a try may go to: healthy ones (all in panic mode), minus `tried`. */
  candidates(tried: ReadonlySet<Endpoint>, now: number): readonly Endpoint[] {
    if (now >= this.#nextExpiry) this.expire(now)
    const pool = this.#panic ? this.#all : this.#eligible
    if (tried.size === 0) return pool
    return pool.filter((e) => !tried.has(e))
  }

  /** Applies a discovery result; `ramp`: new endpoints start slow. */
  update(endpoints: readonly DiscoveredEndpoint[], now: number, ramp: boolean): void {
    const seen = new Set<string>()
    const added: string[] = []
    const removed: string[] = []
    for (const { origin, weight = 1 } of endpoints) {
      seen.add(origin)
      const existing = this.#byOrigin.get(origin)
      if (existing !== undefined) {
        existing.weight = weight
        continue
      }
      const { pool, slowStart } = this.#options
      this.#byOrigin.set(origin, new Endpoint(origin, weight, pool, slowStart, now, ramp))
      added.push(origin)
    }
    for (const [origin, endpoint] of this.#byOrigin) {
      if (seen.has(origin)) continue
      this.#drain(endpoint)
      removed.push(origin)
    }
    this.recompute(now)
    if ((added.length > 0 || removed.length > 0) && channels.discovery.hasSubscribers) {
      channels.discovery.publish({ balancer: this.#options.name, added, removed })
    }
  }

  /** Counts a try's outcome towards outlier ejection. */
  recordOutcome(endpoint: Endpoint, failed: boolean, now: number): void {
    if (!this.#outlier?.record(endpoint, failed) || endpoint.state !== 'active') return
    // Refuse an ejection that would take out more than maxEjectedPercent of the endpoints.
    const out = this.#all.filter((e) => e.state !== 'active').length + 1
    if ((out / this.#all.length) * 100 > this.#options.maxEjectedPercent) return
    const ms = this.#outlier.eject(endpoint, now)
    this.#metrics?.ejection(endpoint.origin)
    this.recompute(now)
    if (channels.eject.hasSubscribers) {
      const { name } = this.#options
      const event = { balancer: name, endpoint: endpoint.origin, reason: 'outlier', ejectedMs: ms }
      channels.eject.publish({ ...event, ejections: endpoint.ejections })
    }
  }

  /** An active health check changed its verdict on the endpoint. */
  setHealthy(endpoint: Endpoint, healthy: boolean, now: number): void {
    endpoint.healthy = healthy
    if (healthy) endpoint.restartSlowStart(now)
    this.recompute(now)
    const channel = healthy ? channels.readmit : channels.eject
    if (!channel.hasSubscribers) return
    const event = { balancer: this.#options.name, endpoint: endpoint.origin, reason: 'health-check' }
    channel.publish(
      healthy ? event : { ...event, ejectedMs: Number.POSITIVE_INFINITY, ejections: endpoint.ejections },
    )
  }

  /** Readmits endpoints whose ejection is over (with slow start). */
  expire(now: number): void {
    if (now < this.#nextExpiry) return
    const readmitted = this.#all.filter((e) => e.state === 'ejected' && e.ejectedUntil <= now)
    for (const e of readmitted) e.restartSlowStart(now)
    this.recompute(now)
    if (!channels.readmit.hasSubscribers) return
    for (const e of readmitted) {
      channels.readmit.publish({ balancer: this.#options.name, endpoint: e.origin, reason: 'outlier' })
    }
  }

  /** Recomputes each endpoint's state, the eligible list and panic mode. */
  recompute(now: number): void {
    let next = Number.POSITIVE_INFINITY
    for (const e of this.#byOrigin.values()) {
      if (e.draining) e.state = 'draining'
      else if (!e.healthy) e.state = 'unhealthy'
      else if (e.ejectedUntil > now) {
        e.state = 'ejected'
        next = Math.min(next, e.ejectedUntil)
      } else e.state = 'active'
    }
    this.#nextExpiry = next
    this.#all = [...this.#byOrigin.values()].filter((e) => !e.draining)
    this.#eligible = this.#all.filter((e) => e.state === 'active')
    const total = this.#all.length
    const outShare = total === 0 ? 0 : ((total - this.#eligible.length) / total) * 100
    this.#panic = this.#eligible.length === 0 || outShare > this.#options.maxEjectedPercent
  }

  /** Ends every pool with `end` (close or destroy), draining ones included. */
  async end(end: (pool: Endpoint['pool']) => Promise<void>): Promise<void> {
    const pools = [...this.#byOrigin.values()].map((e) => end(e.pool).catch(() => {}))
    await Promise.all([...pools, ...this.#draining])
  }

  #drain(endpoint: Endpoint): void {
    endpoint.draining = true
    this.#byOrigin.delete(endpoint.origin)
    this.#options.picker.remove?.(endpoint)
    // Pool.close() lets the tries in flight finish first.
    const closing = endpoint.pool.close().catch(() => {})
    this.#draining.add(closing)
    void closing.then(() => this.#draining.delete(closing))
  }
}
