import type { ResultsDocument } from '../results.js'
import { latencyChart, throughputChart } from './charts.js'
import { coresTable } from './cores-table.js'
import { pageStart } from './page.js'
import { esc } from './svg-chart.js'

/**
 * A self-contained HTML page (inline SVG, no scripts) for one results document: both charts, the metrics,
 * every step, and the machine and command that produced them.
 */
export function renderHtml(doc: ResultsDocument): string {
  const metricRows = Object.entries(doc.metrics)
    .map(([key, value]) => `<tr><td><code>${esc(key)}</code></td><td>${esc(String(value))}</td></tr>`)
    .join('\n')
  const stepRows = doc.steps
    .map((s) => {
      const verdicts = Object.entries(s.sustains)
        .map(([slo, ok]) => `${ok ? '✓' : '✗'}${slo}`)
        .join(' ')
      const errors = Object.entries(s.errors_by_status)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')
      return (
        `<tr><td>${esc(s.phase)}</td><td>${s.rate}</td><td>${s.achieved_rps.toFixed(1)}</td>` +
        `<td>${(s.completion_ratio * 100).toFixed(2)}%</td><td>${s.latency.p50_ms}</td><td>${s.latency.p99_ms}</td>` +
        `<td>${s.latency.p999_ms}</td><td>${s.latency.max_ms}</td><td>${(s.error_rate * 100).toFixed(3)}% ${esc(errors)}</td>` +
        `<td>${s.sender_cpu}</td><td>${s.server_cpu ?? ''}</td><td>${s.schedule_lag_p99_ms}</td><td>${verdicts}</td></tr>`
      )
    })
    .join('\n')
  return `${pageStart({ ...doc, about: `target ${describeTarget(doc)}` })}
<h2>Latency vs offered rate</h2>
${latencyChart(doc)}
<h2>Throughput vs offered rate</h2>
${throughputChart(doc)}
${coresTable(doc)}
<h2>Metrics</h2>
<table><tr><th>key</th><th>value</th></tr>
${metricRows}
</table>
<h2>Steps</h2>
<table><tr><th>phase</th><th>offered</th><th>achieved</th><th>completed</th><th>p50 ms</th><th>p99 ms</th>
<th>p99.9 ms</th><th>max ms</th><th>errors</th><th>sender cpu</th><th>server cpu</th><th>send lag p99 ms</th><th>SLO</th></tr>
${stepRows}
</table>
${doc.notes.length > 0 ? `<h2>Notes</h2><ul>${doc.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`
}

/** `full: postgresql database, redis cache, redis home_timelines, queue jetstream, 1 app process (fell back: …)`. */
function describeTarget(doc: ResultsDocument): string {
  const target = doc.target
  if (!target) return 'n/a'
  const stores = Object.entries(target.stores ?? {}).map(([store, where]) => `${where} ${store}`)
  const parts = [
    ...stores,
    ...(target.queue ? [`queue ${target.queue}`] : []),
    ...(target.app_processes
      ? [`${target.app_processes} app process${target.app_processes > 1 ? 'es' : ''}`]
      : []),
  ]
  return `${target.kind}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}${target.fallback ? ` (fell back: ${target.fallback})` : ''}`
}
