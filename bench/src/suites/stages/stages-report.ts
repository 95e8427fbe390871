import { writeFile } from 'node:fs/promises'
import { PROCESS_GROUPS } from '../../machine/process-groups.js'
import { coresTable } from '../../report/cores-table.js'
import { pageStart } from '../../report/page.js'
import { esc } from '../../report/svg-chart.js'
import { svgToPng } from '../../report/write-report.js'
import { readResults } from '../../results.js'
import type { StageRow } from './stage-row.js'
import { stagesChart } from './stages-chart.js'
import type { StagesDocument } from './stages-results.js'

/** The SLOs of a stages document, loosest first. */
export function documentSlos(doc: Pick<StagesDocument, 'options'>): number[] {
  const slos = (doc.options['slosMs'] as number[] | undefined) ?? [50, 10]
  return [...slos].sort((a, b) => b - a)
}

/** The chart of a stages document, with the dataset under the title. */
export function documentChart(doc: Pick<StagesDocument, 'options' | 'stages' | 'dataset'>): string {
  const dataset = doc.dataset
  return stagesChart({
    stages: doc.stages,
    slosMs: documentSlos(doc),
    subtitle: `${dataset.name}: ${dataset.users} users, ${dataset.edges} edges, 0–${dataset.max_posts_per_user} posts per user, loaded afresh in each stage`,
  })
}

/**
 * A self-contained HTML page for a stages run: the chart, one table row per stage (figures, ratios, where
 * the cores went, why a stage was skipped), each stage's settings, every step's cores, and every step.
 */
export function renderStagesHtml(doc: StagesDocument): string {
  const slos = documentSlos(doc)
  const loosest = slos[0] ?? 50
  const head = [
    'stage',
    ...slos.map((slo) => `MST p99≤${slo}ms`),
    'ceiling',
    `MST/ceiling (${loosest} ms)`,
    ...slos.slice(1).map((slo) => `MST/ceiling (${slo} ms)`),
    'errors',
    'CPU µs/req',
    ...PROCESS_GROUPS,
  ]
  const rows = doc.stages.map((row) => stageRowHtml(row, slos)).join('\n')
  const settings = doc.stages
    .map(
      (row) =>
        `<tr><td>${esc(row.stage)}</td><td>${esc(row.description)}</td><td><code>${esc(
          Object.entries(row.settings)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        )}</code></td><td>${esc(describeDatabase(row))}</td></tr>`,
    )
    .join('\n')
  const steps = doc.steps
    .map(
      (s) =>
        `<tr><td>${esc(s.phase)}</td><td>${s.rate}</td><td>${s.achieved_rps.toFixed(1)}</td>` +
        `<td>${s.latency.p50_ms}</td><td>${s.latency.p99_ms}</td><td>${s.latency.p999_ms}</td>` +
        `<td>${(s.error_rate * 100).toFixed(3)}%</td><td>${Object.entries(s.sustains)
          .map(([slo, ok]) => `${ok ? '✓' : '✗'}${slo}`)
          .join(' ')}</td></tr>`,
    )
    .join('\n')
  return `${pageStart({ ...doc, about: `dataset ${doc.dataset.name} (${doc.dataset.source})` })}
${documentChart(doc)}
<h2>Stages</h2>
<p>MST in req/s; ceiling = <code>GET /ceiling</code> of the same process; errors, CPU µs per request and its split by
process at the MST step of the loosest SLO.</p>
<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${rows}
</table>
<h2>Settings</h2>
<table><tr><th>stage</th><th>what it adds</th><th>HF_* the app got</th><th>database</th></tr>
${settings}
</table>
${coresTable(doc)}
<h2>Steps</h2>
<table><tr><th>stage:phase</th><th>offered</th><th>achieved</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>errors</th><th>SLO</th></tr>
${steps}
</table>
${doc.notes.length > 0 ? `<h2>Notes</h2><ul>${doc.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`
}

function stageRowHtml(row: StageRow, slos: readonly number[]): string {
  const cell = (value: number | boolean | null | undefined, digits = 0): string =>
    typeof value === 'number'
      ? `<td>${value.toLocaleString('en-US', { maximumFractionDigits: digits })}</td>`
      : '<td>–</td>'
  if (row.skipped) {
    return `<tr><td>${esc(row.stage)}</td><td class="text" colspan="${slos.length * 2 + 9}">skipped: ${esc(row.skipped)}</td></tr>`
  }
  const byProcess = row.cpu_us_per_request_by_process
  return (
    `<tr><td>${esc(row.stage)}</td>${slos.map((slo) => cell(row[`mst_rps_p99_${slo}ms`])).join('')}` +
    `${cell(row.ceiling_rps)}${cell(row.mst_to_ceiling, 3)}` +
    `${slos
      .slice(1)
      .map((slo) => cell(row[`mst_to_ceiling_p99_${slo}ms`], 3))
      .join('')}` +
    `<td>${row.error_rate === null ? '–' : `${(row.error_rate * 100).toFixed(3)}%`}</td>${cell(row.cpu_us_per_request)}` +
    `${PROCESS_GROUPS.map((g) => cell(byProcess?.[g])).join('')}</tr>`
  )
}

function describeDatabase(row: StageRow): string {
  const db = row.database
  if (!db) return '–'
  const settings = Object.entries(db.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
  const server = db.server === 'started' ? 'servers started for the stage' : '--postgres-url'
  return `${server}, ${db.replicas} replica${db.replicas === 1 ? '' : 's'}${settings ? ` (${settings})` : ''}`
}

/**
 * Renders `<suite>.html` and `<suite>.png` (the chart) beside a stages results JSON; returns their paths.
 *
 * @example
 * await writeStagesReport('bench/results/stages.json')
 */
export async function writeStagesReport(resultsPath: string): Promise<string[]> {
  const doc = (await readResults(resultsPath)) as StagesDocument
  const base = resultsPath.replace(/\.json$/, '')
  await writeFile(`${base}.html`, renderStagesHtml(doc))
  await writeFile(`${base}.png`, svgToPng(documentChart(doc)))
  return [`${base}.html`, `${base}.png`]
}
