import { placeRuleLabels, textWidth } from './chart-labels.js'
import { type Axis, formatTick, linearAxis, logAxis, position, ticks } from './chart-scale.js'

/** One line of a chart. */
export interface ChartSeries {
  name: string
  color: string
  points: ReadonlyArray<readonly [number, number]>
  dashed?: boolean
}

/** A reference line across the plot. */
export interface ChartRule {
  at: number
  label: string
}

/** One plot of a chart, with its own x range: the workload's steps in one, the ceiling's in the next. */
export interface ChartPanel {
  /** Shown above the panel when the chart has more than one. */
  title?: string
  series: readonly ChartSeries[]
  /** Vertical rules, e.g. the MST. */
  xRules?: readonly ChartRule[]
  /** Share of the plotting width. @default 1 */
  weight?: number
}

/** A line chart of side-by-side panels, drawn as standalone SVG (no scripts, no external fonts). */
export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  panels: readonly ChartPanel[]
  /** Logarithmic y axis (latency tails span decades past the knee). */
  logY?: boolean
  /** One y range for every panel (so the SLO lines line up); else each panel fits its own. @default true */
  shareY?: boolean
  /** Horizontal rules in every panel, e.g. SLOs. */
  yRules?: readonly ChartRule[]
  /** Draw y = x (achieved = offered). */
  diagonal?: boolean
  /** Lines under the legend, e.g. an MST no rate reached. */
  notes?: readonly string[]
  width?: number
  height?: number
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'
/** A label on a pale box, so it stays readable where a line crosses it (drawn after every line). */
function label(x: number, y: number, text: string, color: string): string {
  const width = textWidth(text, 11)
  return (
    `<rect x="${f(x - 2)}" y="${f(y - 10)}" width="${f(width + 4)}" height="13" fill="#ffffff" fill-opacity="0.8"/>` +
    `<text x="${f(x)}" y="${f(y)}" font-size="11" fill="${color}">${esc(text)}</text>`
  )
}

/**
 * Renders a line chart with markers to an SVG string.
 *
 * @example
 * const svg = lineChart({ title: 'p99', xLabel: 'offered req/s', yLabel: 'ms',
 *   panels: [{ series: [{ name: 'p99', color: '#d62728', points: [[100, 3], [200, 9]] }] }] })
 */
export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 860
  const height = spec.height ?? 460
  const shareY = spec.shareY ?? true
  const titled = spec.panels.length > 1 && spec.panels.some((p) => p.title)
  const margin = { top: titled ? 64 : 48, right: 170, bottom: 56, left: 72 }
  const gutter = shareY ? 28 : 64
  const plotH = height - margin.top - margin.bottom
  const available = width - margin.left - margin.right - gutter * (spec.panels.length - 1)
  const weights = spec.panels.map((p) => p.weight ?? 1)
  const totalWeight = weights.reduce((a, b) => a + b, 0)
  const yAxisOf = (panels: readonly ChartPanel[]): Axis => {
    const ys = [
      ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[1]))),
      ...(spec.yRules ?? []).map((r) => r.at),
    ]
    if (spec.logY) return logAxis(ys)
    const xs = spec.diagonal
      ? panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0])))
      : []
    return linearAxis([...ys, ...xs], true)
  }
  const shared = yAxisOf(spec.panels)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2 - margin.right / 2}" y="28" font-size="17" font-weight="bold" text-anchor="middle">${esc(spec.title)}</text>`,
    `<text x="${margin.left + (width - margin.left - margin.right) / 2}" y="${height - 14}" font-size="13" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text x="18" y="${margin.top + plotH / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})">${esc(spec.yLabel)}</text>`,
  ]
  const labels: string[] = []
  let left = margin.left
  spec.panels.forEach((panel, index) => {
    const plotW = (available * (weights[index] ?? 1)) / totalWeight
    const box = { left, top: margin.top, width: plotW, height: plotH }
    const yAxis = shareY ? shared : yAxisOf([panel])
    drawPanel(parts, labels, panel, box, yAxis, spec, index === 0 || !shareY)
    if (titled && panel.title) {
      parts.push(
        `<text x="${f(left + plotW / 2)}" y="${margin.top - 10}" font-size="13" text-anchor="middle">${esc(panel.title)}</text>`,
      )
    }
    left += plotW + gutter
  })
  // Labels after every line, so no line is drawn across one.
  parts.push(...labels)
  drawLegend(parts, spec, { x: width - margin.right + 16, y: margin.top + 12, width: margin.right - 24 })
  parts.push('</svg>')
  return parts.join('\n')
}

interface Box {
  left: number
  top: number
  width: number
  height: number
}

function drawPanel(
  parts: string[],
  labels: string[],
  panel: ChartPanel,
  box: Box,
  yAxis: Axis,
  spec: ChartSpec,
  yTickLabels: boolean,
): void {
  const rules = (panel.xRules ?? []).filter((r) => r.at > 0)
  const xs = [...panel.series.flatMap((s) => s.points.map((p) => p[0])), ...rules.map((r) => r.at)]
  const xAxis = linearAxis(xs.length > 0 ? xs : [1], spec.diagonal === true)
  const sx = (x: number): number => box.left + position(xAxis, x) * box.width
  const sy = (y: number): number => box.top + box.height - position(yAxis, y) * box.height
  const right = box.left + box.width
  const bottom = box.top + box.height
  for (const tick of ticks(xAxis, Math.floor(box.width / 55))) {
    const x = sx(tick)
    parts.push(
      `<line x1="${f(x)}" y1="${box.top}" x2="${f(x)}" y2="${bottom}" stroke="#e6e6e6"/>`,
      `<text x="${f(x)}" y="${bottom + 18}" font-size="12" text-anchor="middle">${formatTick(tick)}</text>`,
    )
  }
  for (const tick of ticks(yAxis)) {
    const y = sy(tick)
    parts.push(`<line x1="${f(box.left)}" y1="${f(y)}" x2="${f(right)}" y2="${f(y)}" stroke="#e6e6e6"/>`)
    if (yTickLabels) {
      parts.push(
        `<text x="${f(box.left - 8)}" y="${f(y + 4)}" font-size="12" text-anchor="end">${formatTick(tick)}</text>`,
      )
    }
  }
  parts.push(
    `<rect x="${f(box.left)}" y="${box.top}" width="${f(box.width)}" height="${box.height}" fill="none" stroke="#444"/>`,
  )
  if (spec.diagonal) {
    const from = Math.max(xAxis.min, yAxis.min)
    const to = Math.min(xAxis.max, yAxis.max)
    if (to > from) {
      parts.push(
        `<line x1="${f(sx(from))}" y1="${f(sy(from))}" x2="${f(sx(to))}" y2="${f(sy(to))}" stroke="#999" stroke-dasharray="4 4"/>`,
      )
    }
  }
  for (const rule of spec.yRules ?? []) {
    const y = sy(rule.at)
    parts.push(
      `<line x1="${f(box.left)}" y1="${f(y)}" x2="${f(right)}" y2="${f(y)}" stroke="#7f7f7f" stroke-dasharray="6 4"/>`,
    )
    labels.push(label(box.left + 6, y - 5, rule.label, '#555'))
  }
  for (const rule of rules) {
    const x = sx(rule.at)
    parts.push(
      `<line x1="${f(x)}" y1="${box.top}" x2="${f(x)}" y2="${bottom}" stroke="#2ca02c" stroke-dasharray="6 4"/>`,
    )
  }
  const placed = placeRuleLabels(
    rules.map((r) => ({ x: sx(r.at), text: r.label })),
    { left: box.left, right },
    11,
  )
  for (const rule of placed) labels.push(label(rule.from, box.top + 14 + rule.row * 15, rule.text, '#2ca02c'))
  for (const series of panel.series) {
    const sorted = [...series.points].sort((a, b) => a[0] - b[0])
    if (sorted.length === 0) continue
    const d = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(sx(p[0]))},${f(sy(p[1]))}`).join(' ')
    parts.push(
      `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
    )
    for (const p of sorted) {
      parts.push(`<circle cx="${f(sx(p[0]))}" cy="${f(sy(p[1]))}" r="3.5" fill="${series.color}"/>`)
    }
  }
}

/** One legend entry per series name (panels may repeat a name), then the notes. */
function drawLegend(parts: string[], spec: ChartSpec, at: { x: number; y: number; width: number }): void {
  const seen = new Map<string, ChartSeries>()
  for (const series of spec.panels.flatMap((p) => p.series))
    if (!seen.has(series.name)) seen.set(series.name, series)
  let y = at.y
  for (const series of seen.values()) {
    parts.push(
      `<line x1="${at.x}" y1="${y}" x2="${at.x + 24}" y2="${y}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
      `<text x="${at.x + 30}" y="${y + 4}" font-size="12">${esc(series.name)}</text>`,
    )
    y += 22
  }
  y += 8
  for (const note of spec.notes ?? []) {
    for (const line of wrap(note, Math.floor(at.width / textWidth('x', 11)))) {
      parts.push(`<text x="${at.x}" y="${y}" font-size="11" fill="#2ca02c">${esc(line)}</text>`)
      y += 14
    }
    y += 4
  }
}

/** Splits text at spaces into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  if (line) lines.push(line)
  return lines
}

const f = (n: number): string => n.toFixed(1)

/** Escapes text for SVG/HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)
}
