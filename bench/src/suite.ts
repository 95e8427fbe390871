import type { BenchOptions } from './options.js'

/** What a suite run produced. */
export interface SuiteOutcome {
  /** The flat metrics written to `bench/results/<suite>.json`. */
  metrics: Record<string, number | string | boolean | null>
  /** Paths of the files written (JSON, HTML, PNG). */
  files: string[]
}

/**
 * One benchmark, run as `npm run bench -- <name>`. Register it in `registry.ts`.
 *
 * @example
 * export const idSuite: Suite = {
 *   name: 'id', description: 'Snowflake ids per second against peers',
 *   async run(options, signal) { … return { metrics, files: [await writeResults('id', { metrics }, options)] } },
 * }
 */
export interface Suite {
  name: string
  description: string
  run(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome>
  /**
   * Re-renders the HTML report and PNG chart beside a results JSON of this suite, for results that the
   * latency chart does not fit; returns their paths. @default the latency and throughput report
   */
  report?(resultsPath: string): Promise<string[]>
}
