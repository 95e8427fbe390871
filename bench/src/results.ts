import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BenchError } from './errors.js'
import type { StepResult } from './loadgen/open-loop.js'
import { type MachineInfo, machineInfo } from './machine/machine-info.js'
import { type BenchOptions, recordableOptions } from './options.js'

/** A flat metric value: numbers in the unit its key names (`_ms`, `_rps`, `_rate` = share 0…1). */
export type MetricValue = number | string | boolean | null

/** One step of a search, as recorded: which search (`phase`), its rate, verdicts per SLO, and the outcome. */
export interface StepRecord extends StepResult {
  phase: string
  rate: number
  sustains: Record<string, boolean>
}

/** The document in `bench/results/<suite>.json`. */
export interface ResultsDocument {
  suite: string
  description: string
  date: string
  command: string
  machine: MachineInfo
  options: Record<string, unknown>
  target?: { kind: string; base_url: string }
  metrics: Record<string, MetricValue>
  steps: StepRecord[]
  notes: string[]
  extra: Record<string, unknown>
}

/** What a suite hands to `writeResults`. */
export interface ResultsInput {
  description?: string
  metrics: Record<string, MetricValue>
  steps?: StepRecord[]
  target?: { kind: string; base_url: string }
  notes?: string[]
  extra?: Record<string, unknown>
}

/** The command line that produced a result, as a user would type it. */
export function commandLine(argv: readonly string[] = process.argv): string {
  return ['npm run bench --', ...argv.slice(2)].join(' ')
}

/**
 * Writes `<outDir>/<suite>.json` atomically (temp file + rename) and returns its path.
 *
 * @example
 * await writeResults('dsb-mixed', { metrics: { mst_rps_p99_50ms: 1200 } }, options)
 */
export async function writeResults(
  suite: string,
  input: ResultsInput,
  options: Pick<BenchOptions, 'outDir'> & Partial<BenchOptions>,
): Promise<string> {
  const document: ResultsDocument = {
    suite,
    description: input.description ?? '',
    date: new Date().toISOString(),
    command: commandLine(),
    machine: machineInfo(),
    options: 'log' in options ? recordableOptions(options as BenchOptions) : { ...options },
    ...(input.target ? { target: input.target } : {}),
    metrics: input.metrics,
    steps: input.steps ?? [],
    notes: input.notes ?? [],
    extra: input.extra ?? {},
  }
  await mkdir(options.outDir, { recursive: true })
  const path = join(options.outDir, `${suite}.json`)
  await writeFile(`${path}.tmp`, `${JSON.stringify(document, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
  return path
}

/** Reads a results document back (for the report). */
export async function readResults(path: string): Promise<ResultsDocument> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ResultsDocument
  } catch (cause) {
    throw new BenchError('E_BENCH_SUITE', `cannot read results ${path}`, { context: { path }, cause })
  }
}
