import { PROCESS_GROUPS } from '../machine/process-groups.js'
import type { ResultsDocument, StepRecord } from '../results.js'
import { esc } from './svg-chart.js'

const COLUMNS = [...PROCESS_GROUPS, 'total'] as const

/**
 * "Where the cores go": one row per sampled step, CPU µs per request of each process group (the cores it
 * kept busy in brackets), then the server's RSS, heap and event-loop delay p99. Empty when no step was
 * sampled.
 */
export function coresTable(doc: ResultsDocument): string {
  const sampled = doc.steps.filter((s) => s.cpu_us_per_request !== undefined)
  if (sampled.length === 0) return ''
  const head = COLUMNS.map((group) => `<th>${group}</th>`).join('')
  const rows = sampled.map(row).join('\n')
  return `<h2>Where the cores go</h2>
<p>CPU µs per request (cores busy) of each process group over each step's window: <code>server</code> the app's
serving processes, <code>consumers</code> its consumer process when the queue's consumers run apart, <code>postgres</code>, <code>redis</code>, <code>nats</code> every process of that name on the machine,
<code>sender</code> the bench process and its children, <code>other</code> the rest of the machine's busy time,
<code>total</code> all of it. Requests = responses received in the window.</p>
<table><tr><th>phase</th><th>offered</th><th>requests</th>${head}<th>RSS MB</th><th>heap MB</th><th>loop delay p99 ms</th></tr>
${rows}
</table>`
}

function row(step: StepRecord): string {
  const cells = COLUMNS.map((group) => {
    const perRequest = step.cpu_us_per_request?.[group] ?? null
    const cores = step.cpu_cores?.[group] ?? null
    if (perRequest === null) return '<td>–</td>'
    return `<td>${Math.round(perRequest).toLocaleString('en-US')}${cores === null ? '' : ` <small>(${cores.toFixed(2)})</small>`}</td>`
  }).join('')
  const value = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : String(v))
  return (
    `<tr><td>${esc(step.phase)}</td><td>${step.rate}</td><td>${step.cpu_requests ?? '–'}</td>${cells}` +
    `<td>${value(step.server_rss_mb)}</td><td>${value(step.server_heap_used_mb)}</td>` +
    `<td>${value(step.server_loop_delay_p99_ms)}</td></tr>`
  )
}
