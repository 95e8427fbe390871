import type { MetricValue } from '../../results.js'
import type { Sample } from './sample.js'

/** One contender's figures under one policy. Latencies in µs. */
export interface Figures {
  ops_per_s: number
  p50_us: number
  p99_us: number
  /** This contender's p50 minus the baseline's (the bare call, the unguarded route); null for the baseline. */
  added_p50_us: number | null
  added_p99_us: number | null
  calls: number
  errors: number
  /** Route servers: the server process's CPU per request, and what it adds to the unguarded route's. */
  server_cpu_us_per_request?: number | null
  added_server_cpu_us_per_request?: number | null
}

/** Figures per contender of one policy. */
export type PolicyFigures = Record<string, Figures>

const us = (ns: number): number => Math.round(ns) / 1000
const round3 = (value: number): number => Math.round(value * 1000) / 1000

function cpuPerRequest(sample: Sample): number | null {
  if (sample.serverCpuSeconds === undefined || sample.calls === 0) return null
  return Math.round((sample.serverCpuSeconds * 1e6) / sample.calls)
}

/**
 * Turns each contender's sample into figures; `added_*` are taken against `baseline` (a sample of the
 * same run, measured in the same rounds), or null without one.
 */
export function figuresOf(samples: Readonly<Record<string, Sample>>, baseline?: Sample): PolicyFigures {
  const p = (sample: Sample | undefined, percentile: number) =>
    sample && sample.histogram.totalCount > 0 ? sample.histogram.getValueAtPercentile(percentile) : null
  const base = { p50: p(baseline, 50), p99: p(baseline, 99), cpu: baseline ? cpuPerRequest(baseline) : null }
  const figures: PolicyFigures = {}
  for (const [name, sample] of Object.entries(samples)) {
    const p50 = p(sample, 50) ?? 0
    const p99 = p(sample, 99) ?? 0
    const isBase = sample === baseline
    const cpu = cpuPerRequest(sample)
    figures[name] = {
      ops_per_s: sample.seconds > 0 ? Math.round(sample.calls / sample.seconds) : 0,
      p50_us: us(p50),
      p99_us: us(p99),
      added_p50_us: isBase || base.p50 === null ? null : us(p50 - base.p50),
      added_p99_us: isBase || base.p99 === null ? null : us(p99 - base.p99),
      calls: sample.calls,
      errors: sample.errors,
      ...(sample.serverCpuSeconds === undefined
        ? {}
        : {
            server_cpu_us_per_request: cpu,
            added_server_cpu_us_per_request:
              isBase || cpu === null || base.cpu === null ? null : cpu - base.cpu,
          }),
    }
  }
  return figures
}

/** Every figure of every policy as a flat metric: `<policy>_<contender>_<figure>`. */
export function flatMetrics(policies: Readonly<Record<string, PolicyFigures>>): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {}
  for (const [policy, contenders] of Object.entries(policies)) {
    for (const [contender, figures] of Object.entries(contenders)) {
      for (const [figure, value] of Object.entries(figures)) {
        if (figure === 'calls') continue
        metrics[`${policy}_${contender}_${figure}`] = value ?? null
      }
    }
  }
  return metrics
}

/** One comparison: ours over a peer, by throughput, under one policy. */
export interface Comparison {
  policy: string
  ours: string
  peer: string
}

/**
 * `<policy>[_<variant>]_ops_ratio_vs_<peer>`: our ops/s over the peer's (above 1: ours is faster); null
 * when either was not measured.
 */
export function ratiosOf(
  policies: Readonly<Record<string, PolicyFigures>>,
  comparisons: readonly Comparison[],
): Record<string, number | null> {
  const ratios: Record<string, number | null> = {}
  for (const { policy, ours, peer } of comparisons) {
    const variant = ours === 'ours' ? '' : `_${ours.replace(/^ours_/, '')}`
    const a = policies[policy]?.[ours]?.ops_per_s
    const b = policies[policy]?.[peer]?.ops_per_s
    ratios[`${policy}${variant}_ops_ratio_vs_${peer}`] = a && b ? round3(a / b) : null
  }
  return ratios
}
