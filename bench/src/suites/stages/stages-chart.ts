import { textWidth } from '../../report/chart-labels.js'
import { type Axis, formatTick, position, ticks } from '../../report/chart-scale.js'
import { esc, wrap } from '../../report/svg-chart.js'
import type { StageRow } from './stage-row.js'

/** Bar colours by SLO, loosest first; the ceiling's mark. */
const BAR_COLORS = ['#1f77b4', '#9ecae1', '#08519c', '#c6dbef']
const CEILING_COLOR = '#ff7f0e'
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'

/** What the chart draws: the rows and the SLOs they were measured at. */
export interface StagesChartInput {
  stages: readonly StageRow[]
  slosMs: readonly number[]
  /** Under the title, e.g. the dataset. */
  subtitle?: string
}

/**
 * The ladder in one chart: per stage, a bar for the MST at each SLO (loosest first) and a dashed mark at
 * the ceiling of the same process, on a log axis (the stages span decades, and the ceiling sits far above
 * them). A stage that sustained no rate shows `0` on the axis; a skipped stage says so in its slot.
 *
 * @example
 * const svg = stagesChart({ stages: doc.stages, slosMs: [50, 10] })
 */
export function stagesChart(input: StagesChartInput): string {
  const width = 860
  const height = 480
  const margin = { top: input.subtitle ? 66 : 48, right: 200, bottom: 56, left: 72 }
  const plot = {
    left: margin.left,
    top: margin.top,
    width: width - margin.left - margin.right,
    height: height - margin.top - margin.bottom,
  }
  const slos = [...input.slosMs].sort((a, b) => b - a)
  const mstOf = (row: StageRow, slo: number): number | null => {
    const value = row[`mst_rps_p99_${slo}ms`]
    return typeof value === 'number' ? value : null
  }
  const values = input.stages.flatMap((row) => [...slos.map((slo) => mstOf(row, slo)), row.ceiling_rps])
  const axis = barAxis(values.filter((v): v is number => v !== null && v > 0))
  const sy = (value: number): number => plot.top + plot.height - position(axis, value) * plot.height
  const bottom = plot.top + plot.height
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${f(plot.left + plot.width / 2)}" y="28" font-size="17" font-weight="bold" text-anchor="middle">stages: DeathStarBench mix, MST per stage</text>`,
    ...(input.subtitle
      ? [
          `<text x="${f(plot.left + plot.width / 2)}" y="48" font-size="12" fill="#555" text-anchor="middle">${esc(input.subtitle)}</text>`,
        ]
      : []),
    `<text x="18" y="${f(plot.top + plot.height / 2)}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${f(plot.top + plot.height / 2)})">max sustainable throughput (req/s, log scale)</text>`,
  ]
  for (const tick of ticks(axis)) {
    const y = sy(tick)
    parts.push(
      `<line x1="${f(plot.left)}" y1="${f(y)}" x2="${f(plot.left + plot.width)}" y2="${f(y)}" stroke="#e6e6e6"/>`,
      `<text x="${f(plot.left - 8)}" y="${f(y + 4)}" font-size="12" text-anchor="end">${formatTick(tick)}</text>`,
    )
  }
  const slot = plot.width / Math.max(1, input.stages.length)
  const barWidth = Math.min(40, (slot * 0.7) / Math.max(1, slos.length))
  const labels: string[] = []
  input.stages.forEach((row, index) => {
    const center = plot.left + slot * (index + 0.5)
    parts.push(
      `<text x="${f(center)}" y="${f(bottom + 20)}" font-size="13" font-weight="bold" text-anchor="middle">${esc(row.stage)}</text>`,
    )
    if (row.skipped) {
      const lines = wrap(`skipped: ${shortReason(row.skipped)}`, Math.floor((slot - 8) / textWidth('x', 11)))
      lines.forEach((line, i) => {
        parts.push(
          `<text x="${f(center)}" y="${f(bottom - 12 - (lines.length - 1 - i) * 14)}" font-size="11" fill="#888" text-anchor="middle">${esc(line)}</text>`,
        )
      })
      return
    }
    const groupLeft = center - (barWidth * slos.length) / 2
    slos.forEach((slo, i) => {
      const x = groupLeft + i * barWidth
      const mst = mstOf(row, slo)
      const color = BAR_COLORS[i % BAR_COLORS.length]
      if (mst !== null && mst > 0) {
        const top = sy(mst)
        parts.push(
          `<rect data-stage="${esc(row.stage)}" data-slo="${slo}" x="${f(x + 1)}" y="${f(top)}" width="${f(barWidth - 2)}" height="${f(bottom - top)}" fill="${color}"/>`,
        )
        const capped = row[`mst_capped_p99_${slo}ms`] === true
        labels.push(valueLabel(x + barWidth / 2, top - 4, `${capped ? '≥ ' : ''}${thousands(mst)}`))
      } else {
        labels.push(valueLabel(x + barWidth / 2, bottom - 4, mst === null ? 'n/a' : '0'))
      }
    })
    if (row.ceiling_rps !== null && row.ceiling_rps > 0) {
      const y = sy(row.ceiling_rps)
      const half = Math.min(slot * 0.45, barWidth * slos.length * 0.5 + 10)
      parts.push(
        `<line x1="${f(center - half)}" y1="${f(y)}" x2="${f(center + half)}" y2="${f(y)}" stroke="${CEILING_COLOR}" stroke-width="2" stroke-dasharray="6 3"/>`,
      )
      labels.push(
        valueLabel(
          center,
          y - 5,
          `${row.ceiling_capped ? '≥ ' : ''}${thousands(row.ceiling_rps)}`,
          CEILING_COLOR,
        ),
      )
    }
  })
  parts.push(
    `<rect x="${f(plot.left)}" y="${f(plot.top)}" width="${f(plot.width)}" height="${f(plot.height)}" fill="none" stroke="#444"/>`,
    ...labels,
  )
  legend(parts, slos, { x: width - margin.right + 16, y: plot.top + 12 })
  parts.push('</svg>')
  return parts.join('\n')
}

/** A log axis over whole decades around the values (a decade below the least, headroom above the most). */
function barAxis(values: readonly number[]): Axis {
  if (values.length === 0) return { min: 1, max: 1000, log: true }
  const min = 10 ** Math.floor(Math.log10(Math.min(...values)))
  const max = 10 ** Math.ceil(Math.log10(Math.max(...values) * 1.1))
  return { min, max: Math.max(max, min * 10), log: true }
}

function legend(parts: string[], slos: readonly number[], at: { x: number; y: number }): void {
  let y = at.y
  slos.forEach((slo, i) => {
    parts.push(
      `<rect x="${at.x}" y="${y - 7}" width="24" height="12" fill="${BAR_COLORS[i % BAR_COLORS.length]}"/>`,
      `<text x="${at.x + 30}" y="${y + 4}" font-size="12">MST, p99 ≤ ${slo} ms</text>`,
    )
    y += 22
  })
  parts.push(
    `<line x1="${at.x}" y1="${y}" x2="${at.x + 24}" y2="${y}" stroke="${CEILING_COLOR}" stroke-width="2" stroke-dasharray="6 3"/>`,
    `<text x="${at.x + 30}" y="${y + 4}" font-size="12">ceiling, same process</text>`,
    `<text x="${at.x + 30}" y="${y + 18}" font-size="11" fill="#555">(GET /ceiling)</text>`,
    `<text x="${at.x}" y="${y + 44}" font-size="11" fill="#555">0: no rate sustained</text>`,
    `<text x="${at.x}" y="${y + 60}" font-size="11" fill="#555">≥: the search ran out of steps</text>`,
  )
}

/** `needs Redis; needs JetStream` from `needs Redis: Redis at … did not answer; needs JetStream: …`. */
export function shortReason(reason: string): string {
  return reason
    .split('; ')
    .map((part) => part.split(':')[0]?.trim() ?? part)
    .join('; ')
}

function valueLabel(x: number, y: number, text: string, color = '#222'): string {
  const width = textWidth(text, 11)
  return (
    `<rect x="${f(x - width / 2 - 2)}" y="${f(y - 10)}" width="${f(width + 4)}" height="13" fill="#ffffff" fill-opacity="0.8"/>` +
    `<text x="${f(x)}" y="${f(y)}" font-size="11" fill="${color}" text-anchor="middle">${esc(text)}</text>`
  )
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en-US')
const f = (n: number): string => n.toFixed(1)
