import type { ResultsDocument, StepRecord } from '../results.js'
import { type ChartPanel, type ChartRule, lineChart } from './svg-chart.js'

const COLORS = { p50: '#1f77b4', p99: '#d62728', p999: '#9467bd', ceiling: '#ff7f0e', mst: '#1f77b4' }

const byPhase = (doc: ResultsDocument, phase: string): StepRecord[] =>
  doc.steps.filter((s) => s.phase === phase)

/** The phase the main chart shows: the workload search, or the ceiling when that is all there is. */
function mainPhase(doc: ResultsDocument): string {
  return byPhase(doc, 'mst').length > 0 ? 'mst' : 'ceiling'
}

/**
 * The MST figures of the results as rules: `mst_rps_p99_<slo>ms` on the workload's panel,
 * `ceiling_rps*` on the ceiling's; a figure of 0 (no rate sustained) or one with no steps of its own to
 * stand beside (a ceiling given by `--ceiling <rps>`) becomes a note instead, so it cannot stretch an axis.
 */
function mstRules(
  doc: ResultsDocument,
  ceilingPanel: boolean,
): { workload: ChartRule[]; ceiling: ChartRule[]; notes: string[] } {
  const out = { workload: [] as ChartRule[], ceiling: [] as ChartRule[], notes: [] as string[] }
  const workloadOnMain = mainPhase(doc) === 'mst'
  for (const [key, value] of Object.entries(doc.metrics)) {
    const match = /^(mst_rps|ceiling_rps)(?:_p99_(\d+)ms)?$/.exec(key)
    if (!match || typeof value !== 'number') continue
    const isMst = match[1] === 'mst_rps'
    const slo = match[2] ?? String(Math.max(...((doc.options['slosMs'] as number[] | undefined) ?? [50])))
    const name = `${isMst ? 'MST' : 'ceiling'} p99≤${slo}ms`
    const where = isMst === workloadOnMain ? out.workload : ceilingPanel ? out.ceiling : undefined
    if (value <= 0) out.notes.push(`${name}: no rate sustained`)
    else if (where)
      where.push({ at: value, label: `${name}: ${Math.round(value).toLocaleString('en-US')}/s` })
    else out.notes.push(`${name}: ${Math.round(value).toLocaleString('en-US')} req/s`)
  }
  return out
}

/**
 * Latency percentiles (log scale) against offered rate, with the SLOs and MSTs marked. The main chart: the
 * workload's steps in their own panel (so a ceiling 20× higher does not squash them), the ceiling's beside.
 */
export function latencyChart(doc: ResultsDocument): string {
  const phase = mainPhase(doc)
  const steps = byPhase(doc, phase)
  const ceiling = phase === 'mst' ? byPhase(doc, 'ceiling') : []
  const rules = mstRules(doc, ceiling.length > 0)
  const panels: ChartPanel[] = [
    {
      title: phase === 'mst' ? doc.suite : 'GET /ceiling',
      weight: 2,
      xRules: rules.workload,
      series: [
        { name: 'p50', color: COLORS.p50, points: steps.map((s) => [s.rate, s.latency.p50_ms]) },
        { name: 'p99', color: COLORS.p99, points: steps.map((s) => [s.rate, s.latency.p99_ms]) },
        { name: 'p99.9', color: COLORS.p999, points: steps.map((s) => [s.rate, s.latency.p999_ms]) },
      ],
    },
  ]
  if (ceiling.length > 0) {
    panels.push({
      title: 'GET /ceiling (same server)',
      weight: 1,
      xRules: rules.ceiling,
      series: [
        {
          name: 'ceiling p99',
          color: COLORS.ceiling,
          dashed: true,
          points: ceiling.map((s) => [s.rate, s.latency.p99_ms]),
        },
      ],
    })
  }
  const slos = ((doc.options['slosMs'] as number[] | undefined) ?? [50, 10]).map((slo) => ({
    at: slo,
    label: `SLO p99 ${slo} ms`,
  }))
  return lineChart({
    title: `${doc.suite}: latency from intended send time vs offered rate`,
    xLabel: 'offered rate (req/s)',
    yLabel: 'latency (ms, log scale)',
    panels,
    logY: true,
    yRules: slos,
    notes: rules.notes,
  })
}

/** Achieved against offered rate, for the workload and (in its own panel and scale) the ceiling route. */
export function throughputChart(doc: ResultsDocument): string {
  const panels: ChartPanel[] = []
  const mst = byPhase(doc, 'mst')
  if (mst.length > 0) {
    panels.push({
      title: doc.suite,
      weight: 2,
      series: [{ name: doc.suite, color: COLORS.mst, points: mst.map((s) => [s.rate, s.achieved_rps]) }],
    })
  }
  const ceiling = byPhase(doc, 'ceiling')
  if (ceiling.length > 0) {
    panels.push({
      title: 'GET /ceiling (same server)',
      weight: 1,
      series: [
        {
          name: 'ceiling route',
          color: COLORS.ceiling,
          dashed: true,
          points: ceiling.map((s) => [s.rate, s.achieved_rps]),
        },
      ],
    })
  }
  return lineChart({
    title: `${doc.suite}: achieved vs offered rate`,
    xLabel: 'offered rate (req/s)',
    yLabel: 'achieved (successful req/s)',
    panels: panels.length > 0 ? panels : [{ series: [] }],
    shareY: false,
    diagonal: true,
  })
}
