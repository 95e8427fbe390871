import { Counter, type CounterOptions } from './counter.js'
import { MetricsError } from './errors.js'
import { Gauge, type GaugeOptions } from './gauge.js'
import { Histogram, type HistogramOptions } from './histogram.js'
import type { MetricFamily } from './metric-family.js'

/** Any metric family a {@link Registry} holds. */
export type Metric = Counter<string> | Gauge<string> | Histogram<string>

/**
 * A set of metrics with unique names, rendered together in the Prometheus text exposition format 0.0.4.
 *
 * @example
 * const registry = new Registry()
 * const requests = registry.counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['route'] })
 * requests.labels({ route: '/posts' }).inc()
 * http.createServer((req, res) => res.writeHead(200, { 'content-type': contentType }).end(registry.metrics()))
 */
export class Registry {
  readonly #metrics = new Map<string, MetricFamily<string, unknown>>()
  // Every sample name a metric renders (a summary also renders `_sum` and `_count`), so none collide.
  readonly #sampleNames = new Set<string>()

  /**
   * Creates and registers a counter.
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * const sent = registry.counter({ name: 'posts_created_total', help: 'Posts created.' })
   */
  counter<L extends string = never>(options: CounterOptions<L>): Counter<L> {
    return this.#add(new Counter(options), [])
  }

  /**
   * Creates and registers a gauge.
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * registry.gauge({ name: 'queue_depth', help: 'Jobs waiting.', collect: (g) => g.set(queue.length) })
   */
  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    return this.#add(new Gauge(options), [])
  }

  /**
   * Creates and registers a latency histogram, exposed as a summary in seconds.
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * const db = registry.histogram({ name: 'db_query_duration_seconds', help: 'Query latency.', labelNames: ['role'] })
   */
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram(options), ['_sum', '_count'])
  }

  /**
   * The registered metric of that name, if any.
   *
   * @example
   * const requests = registry.get('http_requests_total')
   */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name) as Metric | undefined
  }

  /**
   * Runs every `collect` callback, then renders every metric in registration order as Prometheus text
   * (serve it with {@link contentType}).
   *
   * @throws {MetricsError} `E_COLLECT_FAILED` if a collect callback throws.
   * @example
   * res.writeHead(200, { 'content-type': contentType }).end(registry.metrics())
   */
  metrics(): string {
    for (const metric of this.#metrics.values()) metric.collect()
    const lines: string[] = []
    for (const metric of this.#metrics.values()) metric.render(lines)
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`
  }

  #add<M extends MetricFamily<string, unknown>>(metric: M, suffixes: readonly string[]): M {
    const names = [metric.name, ...suffixes.map((suffix) => metric.name + suffix)]
    const taken = names.find((name) => this.#sampleNames.has(name))
    if (taken !== undefined) {
      const message =
        taken === metric.name
          ? `a metric named ${taken} is already registered`
          : `${metric.name} would render ${taken}, which another metric already renders`
      throw new MetricsError('E_DUPLICATE_METRIC', message, { metric: metric.name, value: taken })
    }
    for (const name of names) this.#sampleNames.add(name)
    this.#metrics.set(metric.name, metric)
    return metric
  }
}
