import { build, type Histogram } from 'hdr-histogram-js'

/** Latencies are recorded in microseconds; anything beyond two minutes is clamped to two minutes. */
const HIGHEST_US = 120_000_000

/** A fresh HDR histogram for latencies in microseconds (3 significant digits). */
export function createLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  })
}

/** Records a latency given in milliseconds (fractional) into a microsecond histogram. */
export function recordLatencyMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))))
}

/** Percentiles of one histogram, in milliseconds. */
export interface LatencySummary {
  count: number
  mean_ms: number
  p50_ms: number
  p90_ms: number
  p99_ms: number
  p999_ms: number
  max_ms: number
}

const ms = (us: number): number => Math.round(us) / 1000

/** Summarises a microsecond histogram; an empty histogram gives zeros. */
export function summarizeLatency(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) {
    return { count: 0, mean_ms: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, p999_ms: 0, max_ms: 0 }
  }
  return {
    count: histogram.totalCount,
    mean_ms: ms(histogram.mean),
    p50_ms: ms(histogram.getValueAtPercentile(50)),
    p90_ms: ms(histogram.getValueAtPercentile(90)),
    p99_ms: ms(histogram.getValueAtPercentile(99)),
    p999_ms: ms(histogram.getValueAtPercentile(99.9)),
    max_ms: ms(histogram.maxValue),
  }
}
