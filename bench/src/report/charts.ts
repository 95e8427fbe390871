import type { ResultsDocument, StepRecord } from '../results.js'
import { type ChartSeries, lineChart } from './svg-chart.js'

const COLORS = { p50: '#1f77b4', p99: '#d62728', p999: '#9467bd', ceiling: '#ff7f0e', mst: '#1f77b4' }

const byPhase = (doc: ResultsDocument, phase: string): StepRecord[] =>
  doc.steps.filter((s) => s.phase === phase)

/** The phase the main chart shows: the workload search, or the ceiling when that is all there is. */
function mainPhase(doc: ResultsDocument): string {
  return byPhase(doc, 'mst').length > 0 ? 'mst' : 'ceiling'
}

/** Latency percentiles (log scale) against offered rate, with the SLOs and MSTs marked. The main chart. */
export function latencyChart(doc: ResultsDocument): string {
  const phase = mainPhase(doc)
  const steps = byPhase(doc, phase)
  const series: ChartSeries[] = [
    { name: 'p50', color: COLORS.p50, points: steps.map((s) => [s.rate, s.latency.p50_ms]) },
    { name: 'p99', color: COLORS.p99, points: steps.map((s) => [s.rate, s.latency.p99_ms]) },
    { name: 'p99.9', color: COLORS.p999, points: steps.map((s) => [s.rate, s.latency.p999_ms]) },
  ]
  const ceiling = phase === 'mst' ? byPhase(doc, 'ceiling') : []
  if (ceiling.length > 0) {
    series.push({
      name: 'ceiling p99',
      color: COLORS.ceiling,
      dashed: true,
      points: ceiling.map((s) => [s.rate, s.latency.p99_ms]),
    })
  }
  const slos = ((doc.options['slosMs'] as number[] | undefined) ?? [50, 10]).map((slo) => ({
    at: slo,
    label: `SLO p99 ${slo} ms`,
  }))
  const xRules = Object.entries(doc.metrics)
    .filter(
      ([key, value]) =>
        /^(mst_rps_p99_\d+ms|ceiling_rps(_p99_\d+ms)?)$/.test(key) && typeof value === 'number',
    )
    .map(([key, value]) => ({
      at: value as number,
      label: `${key.startsWith('mst') ? 'MST' : 'ceiling'} ${key.match(/\d+ms/)?.[0] ?? ''}`.trim(),
    }))
  return lineChart({
    title: `${doc.suite}: latency from intended send time vs offered rate`,
    xLabel: 'offered rate (req/s)',
    yLabel: 'latency (ms, log scale)',
    series,
    logY: true,
    yRules: slos,
    xRules,
  })
}

/** Achieved against offered rate, for the workload and the ceiling route. */
export function throughputChart(doc: ResultsDocument): string {
  const series: ChartSeries[] = []
  const mst = byPhase(doc, 'mst')
  if (mst.length > 0) {
    series.push({ name: doc.suite, color: COLORS.mst, points: mst.map((s) => [s.rate, s.achieved_rps]) })
  }
  const ceiling = byPhase(doc, 'ceiling')
  if (ceiling.length > 0) {
    series.push({
      name: 'ceiling route',
      color: COLORS.ceiling,
      dashed: true,
      points: ceiling.map((s) => [s.rate, s.achieved_rps]),
    })
  }
  return lineChart({
    title: `${doc.suite}: achieved vs offered rate`,
    xLabel: 'offered rate (req/s)',
    yLabel: 'achieved (successful req/s)',
    series,
    diagonal: true,
  })
}
