import { BucketHistogram, type BucketHistogramOptions } from './bucket-histogram.js'
import { Counter, type CounterOptions } from './counter.js'
import { MetricsError } from './errors.js'
import { Gauge, type GaugeOptions } from './gauge.js'
import { Histogram, type HistogramOptions } from './histogram.js'

/** Any metric family a {@link Registry} holds. */
export type Metric = Counter<string> | Gauge<string> | Histogram<string> | BucketHistogram<string>

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
  readonly #metrics = new Map<string, Metric>()
  // Every sample name a metric renders (a summary also renders `_sum` and `_count`, a histogram `_bucket`),
  // so no two exposition families collide.
  readonly #sampleNames = new Set<string>()

  /**
   * Creates and registers a counter.
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * const sent = registry.counter({ name: 'posts_created_total', help: 'Posts created.' })
   */
  counter<L extends string = never>(options: CounterOptions<L>): Counter<L> {
    return this.#add(new Counter(options))
  }

  /**
   * Creates and registers a gauge.
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * registry.gauge({ name: 'queue_depth', help: 'Jobs waiting.', collect: (g) => g.set(queue.length) })
   */
  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    return this.#add(new Gauge(options))
  }

  /**
   * Creates and registers an HDR latency histogram, exposed as a summary in seconds; with `buckets`, also as
   * a bucketed `histogram` under `name` (the summary then is `<name>_summary`).
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION`, `E_DUPLICATE_METRIC`.
   * @example
   * const db = registry.histogram({ name: 'db_query_duration_seconds', help: 'Query latency.', labelNames: ['role'] })
   * const http = registry.histogram({ name: 'http_request_duration_seconds', help: 'Latency.', buckets: true })
   */
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram(options))
  }

  /**
   * Creates and registers a bucketed Prometheus histogram (`_bucket{le}`, `_sum`, `_count`).
   *
   * @throws {MetricsError} `E_INVALID_NAME`, `E_INVALID_OPTION` (bad `buckets`), `E_DUPLICATE_METRIC`.
   * @example
   * const sizes = registry.bucketHistogram({ name: 'body_bytes', help: 'Bodies.', buckets: exponentialBuckets(64, 4, 8) })
   */
  bucketHistogram<L extends string = never>(options: BucketHistogramOptions<L>): BucketHistogram<L> {
    return this.#add(new BucketHistogram(options))
  }

  /**
   * The registered metric of that name, if any.
   *
   * @example
   * const requests = registry.get('http_requests_total')
   */
  get(name: string): Metric | undefined {
    return this.#metrics.get(name)
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

  /**
   * Registers families made elsewhere, all or none: if any name collides, nothing is registered.
   * `collectDefaultMetrics` uses it so a failed call leaves no half of its metrics behind. @internal
   */
  addAll(metrics: readonly Metric[]): void {
    const names = new Set<string>()
    for (const metric of metrics) {
      for (const name of metric.sampleNames) {
        if (this.#sampleNames.has(name) || names.has(name)) {
          const message =
            name === metric.name
              ? `a metric named ${name} is already registered`
              : `${metric.name} would render ${name}, which another metric already renders`
          throw new MetricsError('E_DUPLICATE_METRIC', message, { metric: metric.name, value: name })
        }
        names.add(name)
      }
    }
    for (const name of names) this.#sampleNames.add(name)
    for (const metric of metrics) this.#metrics.set(metric.name, metric)
  }

  #add<M extends Metric>(metric: M): M {
    this.addAll([metric])
    return metric
  }
}
