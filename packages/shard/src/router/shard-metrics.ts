import type {
  Counter,
  CounterChild,
  Gauge,
  Histogram,
  LatencyHistogram,
  Registry,
} from '@hundredfold/metrics'

/** What one physical database reports, with its label children made once. @internal */
export interface DatabaseMetrics {
  readonly queries: CounterChild
  readonly errors: CounterChild
  readonly duration: LatencyHistogram
}

/** One range table's horizon, read at each scrape. @internal */
export interface HorizonReading {
  readonly table: string
  /** Periods made ahead of the current one (−1: not even the current one). */
  readonly horizon: number
  /** Whether `horizon` is below the alarm threshold. */
  readonly alarm: boolean
}

type Source = { readonly router: string; readonly horizons: () => HorizonReading[] }

interface Families {
  readonly queries: Counter<'router' | 'database'>
  readonly errors: Counter<'router' | 'database'>
  readonly duration: Histogram<'router' | 'database'>
  readonly horizon: Gauge<'router' | 'table'>
  readonly alarm: Gauge<'router' | 'table'>
  readonly sources: Set<Source>
}

// One set of families per registry, shared by every router reporting to it (told apart by `router`).
const byRegistry = new WeakMap<Registry, Families>()

/**
 * The metrics a router reports, labelled `router` (its `name`):
 *
 * | metric | type | labels | |
 * |---|---|---|---|
 * | `shard_queries_total` | counter | `database` | statements sent to the physical database |
 * | `shard_query_errors_total` | counter | `database` | statements that failed there |
 * | `shard_query_duration_seconds` | summary (HDR: p50, p90, p99, p99.9) | `database` | statement latency |
 * | `shard_range_horizon_periods` | gauge | `table` | periods of a range table made ahead of now |
 * | `shard_range_horizon_alarm` | gauge | `table` | 1 while that horizon is below `horizonAlarm` |
 *
 * @internal
 */
export class ShardMetrics {
  readonly #families: Families
  readonly #router: string
  readonly #source: Source
  readonly #databases = new Map<string, DatabaseMetrics>()

  constructor(registry: Registry, router: string, horizons: () => HorizonReading[]) {
    this.#families = byRegistry.get(registry) ?? register(registry)
    this.#router = router
    this.#source = { router, horizons }
    this.#families.sources.add(this.#source)
  }

  database(database: string): DatabaseMetrics {
    let metrics = this.#databases.get(database)
    if (metrics === undefined) {
      const labels = { router: this.#router, database }
      metrics = {
        queries: this.#families.queries.labels(labels),
        errors: this.#families.errors.labels(labels),
        duration: this.#families.duration.labels(labels),
      }
      this.#databases.set(database, metrics)
    }
    return metrics
  }

  /** Stops reporting horizons (the router ended). */
  close(): void {
    this.#families.sources.delete(this.#source)
  }
}

function register(registry: Registry): Families {
  const sources = new Set<Source>()
  const labelNames = ['router', 'database'] as const
  const tableLabels = ['router', 'table'] as const
  const families: Families = {
    queries: registry.counter({
      name: 'shard_queries_total',
      help: 'Statements sent to a physical database.',
      labelNames,
    }),
    errors: registry.counter({
      name: 'shard_query_errors_total',
      help: 'Statements that failed on a physical database.',
      labelNames,
    }),
    duration: registry.histogram({
      name: 'shard_query_duration_seconds',
      help: 'Statement latency on a physical database.',
      labelNames,
    }),
    horizon: registry.gauge({
      name: 'shard_range_horizon_periods',
      help: 'Periods of a range table whose physical tables exist ahead of the current one.',
      labelNames: tableLabels,
      collect: (g) => {
        for (const source of sources) {
          for (const r of source.horizons())
            g.labels({ router: source.router, table: r.table }).set(r.horizon)
        }
      },
    }),
    alarm: registry.gauge({
      name: 'shard_range_horizon_alarm',
      help: '1 while the horizon of a range table is below the alarm threshold: run ensurePeriods.',
      labelNames: tableLabels,
      collect: (g) => {
        for (const source of sources) {
          for (const r of source.horizons()) {
            g.labels({ router: source.router, table: r.table }).set(r.alarm ? 1 : 0)
          }
        }
      },
    }),
    sources,
  }
  byRegistry.set(registry, families)
  return families
}
