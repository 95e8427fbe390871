import type { MetricValue } from '../../results.js'
import { PICKERS, type PickerName } from './contenders.js'
import type { PickerRun } from './experiment.js'
import { PHASES } from './phase-schedule.js'

/** One floor of the issue, checked against a run: `actual` null when a picker it names did not run. */
export interface FloorCheck {
  floor: string
  actual: number | null
  pass: boolean
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits

/**
 * The flat metrics of every picker, suffixed with its name (`success_within_1s_rate_p2c_ewma`); a picker
 * that did not run has its keys, null.
 */
export function experimentMetrics(runs: readonly PickerRun[]): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {}
  for (const picker of PICKERS)
    Object.assign(
      metrics,
      pickerMetrics(
        picker,
        runs.find((r) => r.picker === picker),
      ),
    )
  return metrics
}

function pickerMetrics(picker: PickerName, run: PickerRun | undefined): Record<string, MetricValue> {
  const result = run?.result
  const overall = result?.overall
  const slowShare = run?.backend_requests ? share(run.backend_requests.slow) : null
  const metrics: Record<string, MetricValue> = {
    [`success_within_1s_rate_${picker}`]: overall ? round(overall.success_within_1s_rate, 6) : null,
    [`p50_ms_${picker}`]: overall?.latency.p50_ms ?? null,
    [`p99_ms_${picker}`]: overall?.latency.p99_ms ?? null,
    [`p999_ms_${picker}`]: overall?.latency.p999_ms ?? null,
    [`requests_${picker}`]: overall?.requests ?? null,
    [`failures_${picker}`]: overall ? overall.requests - overall.ok : null,
    [`late_${picker}`]: overall ? (overall.failures['late'] ?? 0) : null,
  }
  for (const phase of PHASES) {
    const figures = result?.phases[phase]
    metrics[`${phase}_success_within_1s_rate_${picker}`] = figures
      ? round(figures.success_within_1s_rate, 6)
      : null
    metrics[`${phase}_p99_ms_${picker}`] = figures?.latency.p99_ms ?? null
  }
  metrics[`slow_backend0_share_${picker}`] = slowShare === null ? null : round(slowShare, 4)
  metrics[`client_cpu_${picker}`] = result?.cpu.client ?? null
  return metrics
}

/** Backend #0's share of the requests the fleet received. */
function share(counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0)
  return total === 0 ? null : (counts[0] ?? 0) / total
}

/**
 * The issue's floors: P2C + peak EWMA and dynamic weight each at ≥ 0.999 success within 1 s, and each
 * above undici's `BalancedPool` and our round robin.
 */
export function floorChecks(metrics: Record<string, MetricValue>): FloorCheck[] {
  const rate = (picker: PickerName): number | null => {
    const value = metrics[`success_within_1s_rate_${picker}`]
    return typeof value === 'number' ? value : null
  }
  const checks: FloorCheck[] = []
  for (const ours of ['p2c_ewma', 'dynamic_weight'] as const) {
    const actual = rate(ours)
    checks.push({
      floor: `success_within_1s_rate_${ours} >= 0.999`,
      actual,
      pass: actual !== null && actual >= 0.999,
    })
    for (const peer of ['undici', 'round_robin'] as const) {
      const other = rate(peer)
      checks.push({
        floor: `success_within_1s_rate_${ours} > success_within_1s_rate_${peer}`,
        actual: actual === null || other === null ? null : round(actual - other, 6),
        pass: actual !== null && other !== null && actual > other,
      })
    }
  }
  return checks
}

const pct = (value: MetricValue | undefined): string =>
  typeof value === 'number' ? `${(value * 100).toFixed(2)} %` : '—'
const num = (value: MetricValue | undefined): string => (typeof value === 'number' ? String(value) : '—')

/** A markdown table of the run: one row per picker, success per phase, latencies, where the failures went. */
export function resultsTable(runs: readonly PickerRun[], metrics: Record<string, MetricValue>): string {
  const lines = [
    '| picker | success ≤ 1 s | normal | slow | killed | p50 ms | p99 ms | p99.9 ms | #0 share (slow) | client cores | failures by kind |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const picker of PICKERS) {
    const run = runs.find((r) => r.picker === picker)
    if (!run?.result) {
      lines.push(`| ${picker} | not run ||||||||||`)
      continue
    }
    const failures = Object.entries(run.result.overall.failures)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ')
    lines.push(
      `| ${picker} | ${pct(metrics[`success_within_1s_rate_${picker}`])} | ${PHASES.map((phase) => pct(metrics[`${phase}_success_within_1s_rate_${picker}`])).join(' | ')} | ${num(metrics[`p50_ms_${picker}`])} | ${num(metrics[`p99_ms_${picker}`])} | ${num(metrics[`p999_ms_${picker}`])} | ${pct(metrics[`slow_backend0_share_${picker}`])} | ${num(metrics[`client_cpu_${picker}`])} | ${failures || 'none'} |`,
    )
  }
  return lines.join('\n')
}

/** The failures of each phase, one line per picker and phase that lost any: where each picker loses. */
export function phaseFailureLines(runs: readonly PickerRun[]): string[] {
  const lines: string[] = []
  for (const run of runs) {
    if (!run.result) continue
    for (const phase of PHASES) {
      const figures = run.result.phases[phase]
      const lost = figures.requests - figures.ok
      if (lost === 0) continue
      const kinds = Object.entries(figures.failures)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')
      lines.push(`${run.picker} ${phase}: ${lost} of ${figures.requests} not ok within 1 s (${kinds})`)
    }
  }
  return lines
}
