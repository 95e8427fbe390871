import type { MachineInfo } from '../machine/machine-info.js'
import { esc } from './svg-chart.js'

/** What every report page opens with: the suite, its description, when and where it ran, and how. */
export interface PageHead {
  suite: string
  description: string
  date: string
  machine: MachineInfo
  command: string
  /** One more fact for the meta line (the target, the dataset), as text. */
  about: string
}

/**
 * The start of a report page, up to and including its meta line; the caller appends its sections and
 * `</body></html>`.
 */
export function pageStart(head: PageHead): string {
  const { machine } = head
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(head.suite)} — hundredfold bench</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1200px }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem }
td, th { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right }
td:first-child, th:first-child, td.text { text-align: left }
code { font-size: 0.85rem }
.meta { color: #555 }
</style></head><body>
<h1>${esc(head.suite)}</h1>
<p>${esc(head.description)}</p>
<p class="meta">${esc(head.date)} · ${machine.cores} cores, ${esc(machine.cpu_model)}, Node ${esc(machine.node)}, ${esc(machine.platform)} ·
${esc(head.about)}<br><code>${esc(head.command)}</code></p>`
}
