import { writeFile } from 'node:fs/promises'
import { Resvg } from '@resvg/resvg-js'
import { readResults } from '../results.js'
import { latencyChart } from './charts.js'
import { renderHtml } from './html-report.js'

/** Rasterises an SVG to PNG with resvg (its binary ships in the npm package; system fonts, offline). */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
  return resvg.render().asPng()
}

/**
 * Renders `<suite>.html` and `<suite>.png` (the latency chart) beside a results JSON; returns their paths.
 *
 * @example
 * await writeReport('bench/results/dsb-mixed.json')
 */
export async function writeReport(resultsPath: string): Promise<string[]> {
  const doc = await readResults(resultsPath)
  const base = resultsPath.replace(/\.json$/, '')
  await writeFile(`${base}.html`, renderHtml(doc))
  await writeFile(`${base}.png`, svgToPng(latencyChart(doc)))
  return [`${base}.html`, `${base}.png`]
}
