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

/** A line chart, drawn as standalone SVG (no scripts, no external fonts) so it renders anywhere. */
export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: readonly ChartSeries[]
  /** Logarithmic y axis (latency tails span decades past the knee). */
  logY?: boolean
  /** Horizontal rules, e.g. SLOs. */
  yRules?: readonly ChartRule[]
  /** Vertical rules, e.g. the MST. */
  xRules?: readonly ChartRule[]
  /** Draw y = x (achieved = offered). */
  diagonal?: boolean
  width?: number
  height?: number
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif'

/**
 * Renders a line chart with markers to an SVG string.
 *
 * @example
 * const svg = lineChart({ title: 'p99', xLabel: 'offered req/s', yLabel: 'ms',
 *   series: [{ name: 'p99', color: '#d62728', points: [[100, 3], [200, 9]] }] })
 */
export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 860
  const height = spec.height ?? 460
  const margin = { top: 48, right: 170, bottom: 56, left: 72 }
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const points = spec.series.flatMap((s) => s.points)
  const xs = [...points.map((p) => p[0]), ...(spec.xRules ?? []).map((r) => r.at)]
  const ys = [...points.map((p) => p[1]), ...(spec.yRules ?? []).map((r) => r.at)]
  const xMax = niceCeil(Math.max(1, ...xs) * 1.05)
  const logY = spec.logY === true
  const yPositive = ys.filter((y) => y > 0)
  const yMin = logY ? 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(1, ...yPositive)))) : 0
  const yMax = logY
    ? 10 ** Math.ceil(Math.log10(Math.max(yMin * 10, ...yPositive)))
    : niceCeil(Math.max(1, ...ys, spec.diagonal ? xMax : 0) * 1.05)
  const sx = (x: number): number => margin.left + (x / xMax) * plotW
  const sy = (y: number): number => {
    const t = logY
      ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : y / yMax
    return margin.top + plotH - t * plotH
  }
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2 - margin.right / 2}" y="28" font-size="17" font-weight="bold" text-anchor="middle">${esc(spec.title)}</text>`,
  )
  // Grid and ticks.
  for (const tick of linearTicks(xMax)) {
    const x = sx(tick)
    parts.push(
      `<line x1="${f(x)}" y1="${margin.top}" x2="${f(x)}" y2="${margin.top + plotH}" stroke="#e6e6e6"/>`,
      `<text x="${f(x)}" y="${margin.top + plotH + 18}" font-size="12" text-anchor="middle">${fmt(tick)}</text>`,
    )
  }
  for (const tick of logY ? logTicks(yMin, yMax) : linearTicks(yMax)) {
    const y = sy(tick)
    parts.push(
      `<line x1="${margin.left}" y1="${f(y)}" x2="${margin.left + plotW}" y2="${f(y)}" stroke="#e6e6e6"/>`,
      `<text x="${margin.left - 8}" y="${f(y + 4)}" font-size="12" text-anchor="end">${fmt(tick)}</text>`,
    )
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" font-size="13" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text x="18" y="${margin.top + plotH / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})">${esc(spec.yLabel)}</text>`,
  )
  if (spec.diagonal) {
    const end = Math.min(xMax, yMax)
    parts.push(
      `<line x1="${f(sx(0))}" y1="${f(sy(0))}" x2="${f(sx(end))}" y2="${f(sy(end))}" stroke="#999" stroke-dasharray="4 4"/>`,
    )
  }
  for (const rule of spec.yRules ?? []) {
    const y = sy(rule.at)
    parts.push(
      `<line x1="${margin.left}" y1="${f(y)}" x2="${margin.left + plotW}" y2="${f(y)}" stroke="#7f7f7f" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + 6}" y="${f(y - 5)}" font-size="11" fill="#555">${esc(rule.label)}</text>`,
    )
  }
  for (const [index, rule] of (spec.xRules ?? []).entries()) {
    const x = sx(rule.at)
    parts.push(
      `<line x1="${f(x)}" y1="${margin.top}" x2="${f(x)}" y2="${margin.top + plotH}" stroke="#2ca02c" stroke-dasharray="6 4"/>`,
      `<text x="${f(x + 5)}" y="${margin.top + 14 + index * 14}" font-size="11" fill="#2ca02c">${esc(rule.label)}</text>`,
    )
  }
  spec.series.forEach((series, index) => {
    const sorted = [...series.points].sort((a, b) => a[0] - b[0])
    if (sorted.length > 0) {
      const d = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(sx(p[0]))},${f(sy(p[1]))}`).join(' ')
      parts.push(
        `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
      )
      for (const p of sorted) {
        parts.push(`<circle cx="${f(sx(p[0]))}" cy="${f(sy(p[1]))}" r="3.5" fill="${series.color}"/>`)
      }
    }
    const ly = margin.top + 12 + index * 22
    const lx = margin.left + plotW + 16
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 3"' : ''}/>`,
      `<text x="${lx + 30}" y="${ly + 4}" font-size="12">${esc(series.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n')
}

function niceCeil(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10])
    if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function linearTicks(max: number): number[] {
  const rough = max / 6
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((s) => s * magnitude).find((s) => s >= rough) ?? rough
  const ticks: number[] = []
  for (let t = 0; t <= max + step / 1000; t += step) ticks.push(Math.round(t * 1e6) / 1e6)
  return ticks
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = []
  for (let decade = min; decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) if (decade * m <= max) ticks.push(Math.round(decade * m * 1e6) / 1e6)
  }
  return ticks
}

const f = (n: number): string => n.toFixed(1)

function fmt(n: number): string {
  if (n >= 1000) return `${Math.round(n / 100) / 10}k`.replace('.0k', 'k')
  return String(Math.round(n * 1000) / 1000)
}

/** Escapes text for SVG/HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)
}
