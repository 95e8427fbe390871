import type { Counter, Registry } from '@hundredfold/metrics'
import type { EndpointSnapshot } from './endpoint.js'

type EndpointLabels = 'balancer' | 'endpoint'

interface Families {
  requests: Counter<EndpointLabels>
  failures: Counter<EndpointLabels>
  ejections: Counter<EndpointLabels>
  retries: Counter<'balancer'>
  budgetExhausted: Counter<'balancer'>
  sources: Set<{ name: string; snapshot: () => EndpointSnapshot[] }>
}

// One set of families per registry, shared by every balancer reporting to it (told apart by `balancer`).
const byRegistry = new WeakMap<Registry, Families>()

/**
 * The metrics a balancer reports, all labelled `balancer` (its `name`) and, per endpoint, `endpoint` (origin):
 *
 * | metric | type | |
 * |---|---|---|
 * | `balance_endpoint_weight` | gauge | the picker's effective weight (dynamic weight: score-based; P2C: 1/cost) |
 * | `balance_endpoint_score` | gauge | the dynamic-weight score (only with that picker) |
 * | `balance_endpoint_outstanding` | gauge | tries in flight |
 * | `balance_endpoint_ewma_seconds` | gauge | peak EWMA of latency to response headers |
 * | `balance_endpoint_ejected` | gauge | 1 while ejected or failing health checks |
 * | `balance_requests_total` | counter | tries sent |
 * | `balance_failures_total` | counter | tries failed (5xx, connection errors, try timeouts) |
 * | `balance_ejections_total` | counter | outlier ejections |
 * | `balance_retries_total` | counter | retries |
 * | `balance_retry_budget_exhausted_total` | counter | retries refused by the budget |
 *
 * @internal
 */
export class BalancerMetrics {
  readonly #labels = new Map<string, { balancer: string; endpoint: string }>()
  readonly #families: Families
  readonly #name: string
  readonly #source: { name: string; snapshot: () => EndpointSnapshot[] }

  constructor(registry: Registry, name: string, snapshot: () => EndpointSnapshot[]) {
    this.#name = name
    this.#families = byRegistry.get(registry) ?? register(registry)
    this.#source = { name, snapshot }
    this.#families.sources.add(this.#source)
  }

  request(endpoint: string): void {
    this.#families.requests.labels(this.#endpointLabels(endpoint)).inc()
  }

  failure(endpoint: string): void {
    this.#families.failures.labels(this.#endpointLabels(endpoint)).inc()
  }

  ejection(endpoint: string): void {
    this.#families.ejections.labels(this.#endpointLabels(endpoint)).inc()
  }

  retry(): void {
    this.#families.retries.labels({ balancer: this.#name }).inc()
  }

  budgetExhausted(): void {
    this.#families.budgetExhausted.labels({ balancer: this.#name }).inc()
  }

  /** Stops reporting gauges (the balancer closed). */
  close(): void {
    this.#families.sources.delete(this.#source)
  }

  #endpointLabels(endpoint: string): { balancer: string; endpoint: string } {
    let labels = this.#labels.get(endpoint)
    if (labels === undefined) {
      labels = { balancer: this.#name, endpoint }
      this.#labels.set(endpoint, labels)
    }
    return labels
  }
}

function register(registry: Registry): Families {
  const sources = new Set<{ name: string; snapshot: () => EndpointSnapshot[] }>()
  const labelNames = ['balancer', 'endpoint'] as const
  const gauge = (name: string, help: string, value: (e: EndpointSnapshot) => number | undefined) =>
    registry.gauge({
      name,
      help,
      labelNames,
      collect: (g) => {
        for (const source of sources) {
          for (const e of source.snapshot()) {
            const v = value(e)
            if (v !== undefined) g.labels({ balancer: source.name, endpoint: e.origin }).set(v)
          }
        }
      },
    })
  gauge('balance_endpoint_weight', "The picker's effective weight of the endpoint.", (e) => e.effectiveWeight)
  gauge('balance_endpoint_score', 'The dynamic-weight score of the endpoint.', (e) => e.score)
  gauge('balance_endpoint_outstanding', 'Tries in flight on the endpoint.', (e) => e.outstanding)
  gauge('balance_endpoint_ewma_seconds', 'Peak EWMA of latency to response headers.', (e) => e.ewmaMs / 1_000)
  gauge('balance_endpoint_ejected', '1 while the endpoint is ejected or unhealthy.', (e) =>
    e.state === 'ejected' || e.state === 'unhealthy' ? 1 : 0,
  )
  const families: Families = {
    requests: registry.counter({ name: 'balance_requests_total', help: 'Tries sent.', labelNames }),
    failures: registry.counter({ name: 'balance_failures_total', help: 'Tries failed.', labelNames }),
    ejections: registry.counter({ name: 'balance_ejections_total', help: 'Outlier ejections.', labelNames }),
    retries: registry.counter({ name: 'balance_retries_total', help: 'Retries.', labelNames: ['balancer'] }),
    budgetExhausted: registry.counter({
      name: 'balance_retry_budget_exhausted_total',
      help: 'Retries refused by the retry budget.',
      labelNames: ['balancer'],
    }),
    sources,
  }
  byRegistry.set(registry, families)
  return families
}
