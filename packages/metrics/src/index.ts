export {
  BucketHistogram,
  BucketHistogramChild,
  type BucketHistogramOptions,
  bucketHistogramDefaults,
} from './bucket-histogram.js'
export { exponentialBuckets, latencyBuckets, linearBuckets } from './buckets.js'
export { Counter, CounterChild, type CounterOptions } from './counter.js'
export {
  collectDefaultMetrics,
  type DefaultMetrics,
  type DefaultMetricsOptions,
  defaultMetricsDefaults,
} from './default-metrics.js'
export { MetricsError, type MetricsErrorCode, type MetricsErrorContext } from './errors.js'
export { contentType } from './exposition.js'
export { Gauge, GaugeChild, type GaugeOptions } from './gauge.js'
export { Histogram, type HistogramOptions } from './histogram.js'
export {
  LatencyHistogram,
  type LatencyHistogramOptions,
  type LatencySnapshot,
  latencyHistogramDefaults,
} from './latency-histogram.js'
export type { LabelValues, MetricFamily, MetricOptions, MetricType } from './metric-family.js'
export { type Metric, Registry } from './registry.js'
