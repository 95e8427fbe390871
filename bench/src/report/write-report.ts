import { writeFile } from 'node:fs/promises'
import { Resvg } from '@resvg/resvg-js'
import type { BenchOptions } from '../options.js'
import { type ResultsInput, readResults, writeResults } from '../results.js'
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

/**
 * Writes `<outDir>/<suite>.json` and, with `options.report`, its HTML report and PNG chart beside it;
 * logs and returns the paths.
 *
 * @example
 * const files = await writeResultsAndReport('ceiling', { metrics, steps }, options, log)
 */
export async function writeResultsAndReport(
  suite: string,
  input: ResultsInput,
  options: Readonly<BenchOptions>,
  log: (line: string) => void,
): Promise<string[]> {
  const resultsPath = await writeResults(suite, input, options)
  const files = [resultsPath]
  if (options.report) files.push(...(await writeReport(resultsPath)))
  log(`wrote ${files.join(', ')}`)
  return files
}
