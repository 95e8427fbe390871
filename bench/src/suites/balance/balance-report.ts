import { writeFile } from 'node:fs/promises'
import { pageStart } from '../../report/page.js'
import { type ChartSeries, esc, lineChart } from '../../report/svg-chart.js'
import { svgToPng } from '../../report/write-report.js'
import { type MetricValue, type ResultsDocument, readResults } from '../../results.js'
import { type FloorCheck, floorChecks, phaseFailureLines, resultsTable } from './balance-results.js'
import { PICKERS, type PickerName } from './contenders.js'
import type { PickerRun } from './experiment.js'
import { phaseSchedule } from './phase-schedule.js'

const COLORS: Record<PickerName, string> = {
  dynamic_weight: '#2ca02c',
  p2c_ewma: '#1f77b4',
  round_robin: '#ff7f0e',
  undici: '#d62728',
}

/** The runs a balance results document holds. */
function runsOf(doc: ResultsDocument): PickerRun[] {
  return (doc.extra['runs'] ?? []) as PickerRun[]
}

/** The table, where each picker lost requests, and the floors, as markdown. */
export function balanceMarkdown(doc: ResultsDocument): string {
  const runs = runsOf(doc)
  return [
    `# balance — ${doc.date}`,
    '',
    `\`${doc.command}\``,
    '',
    resultsTable(runs, doc.metrics),
    '',
    ...phaseFailureLines(runs).map((line) => `- ${line}`),
    '',
    ...floorLines(floorChecks(doc.metrics)).map((line) => `- ${line}`),
    '',
  ].join('\n')
}

function floorLines(floors: readonly FloorCheck[]): string[] {
  return floors.map((check) => `floor ${check.pass ? 'pass' : 'FAIL'}: ${check.floor} (${check.actual})`)
}

/**
 * Two charts over the measured window, one line per picker, a point per second of intended send time:
 * the requests that did not succeed within 1 s, and the p99 (log scale), with the phase boundaries as rules.
 */
export function balanceCharts(doc: ResultsDocument): { failures: string; p99: string } {
  const runs = runsOf(doc)
  const durationMs = Number(doc.metrics['duration_s'] ?? 0) * 1000
  const xRules = phaseSchedule(durationMs)
    .slice(1)
    .map((phase) => ({ at: phase.startMs / 1000, label: `#0 ${phase.name}` }))
  const series = (
    value: (second: { requests: number; ok: number; p99_ms: number }) => number,
  ): ChartSeries[] =>
    PICKERS.flatMap((picker) => {
      const timeline = runs.find((run) => run.picker === picker)?.result?.timeline
      if (!timeline) return []
      return [
        {
          name: picker,
          color: COLORS[picker],
          points: timeline
            .filter((second) => second.requests > 0)
            .map((second) => [second.t_s + 0.5, value(second)] as const),
        },
      ]
    })
  return {
    failures: lineChart({
      title: 'Requests not ok within 1 s, per second',
      xLabel: 'seconds into the measured run (intended send time)',
      yLabel: 'requests',
      panels: [{ series: series((s) => s.requests - s.ok), xRules }],
    }),
    p99: lineChart({
      title: 'p99 latency, per second',
      xLabel: 'seconds into the measured run (intended send time)',
      yLabel: 'ms (log)',
      logY: true,
      panels: [{ series: series((s) => Math.max(0.1, s.p99_ms)), xRules }],
    }),
  }
}

function balanceHtml(doc: ResultsDocument, charts: { failures: string; p99: string }): string {
  const metricRows = Object.entries(doc.metrics)
    .map(
      ([key, value]: [string, MetricValue]) =>
        `<tr><td><code>${esc(key)}</code></td><td>${esc(String(value))}</td></tr>`,
    )
    .join('\n')
  const floors = floorLines(floorChecks(doc.metrics))
    .map((line) => `<li>${esc(line)}</li>`)
    .join('\n')
  const notes = doc.notes.map((note) => `<li>${esc(note)}</li>`).join('\n')
  return `${pageStart({ ...doc, about: `${doc.metrics['backends']} backends, ${doc.metrics['offered_rps']} req/s, ${doc.metrics['duration_s']} s per picker` })}
<h2>Floors</h2>
<ul>
${floors}
</ul>
<h2>Requests not ok within 1 s over the run</h2>
${charts.failures}
<h2>p99 over the run</h2>
${charts.p99}
<h2>Metrics</h2>
<table><tr><th>key</th><th>value</th></tr>
${metricRows}
</table>
<h2>Notes</h2>
<ul>
${notes}
</ul>
</body></html>
`
}

/**
 * Writes `balance.md`, and with `html` also `balance.html` and `balance.png` (the failures chart), beside a
 * results JSON; returns their paths.
 */
export async function writeBalanceReport(resultsPath: string, html = true): Promise<string[]> {
  const doc = await readResults(resultsPath)
  const base = resultsPath.replace(/\.json$/, '')
  await writeFile(`${base}.md`, balanceMarkdown(doc))
  if (!html) return [`${base}.md`]
  const charts = balanceCharts(doc)
  await writeFile(`${base}.html`, balanceHtml(doc, charts))
  await writeFile(`${base}.png`, svgToPng(charts.failures))
  return [`${base}.md`, `${base}.html`, `${base}.png`]
}
