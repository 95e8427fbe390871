import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BenchError } from './errors.js'
import type { StepResult } from './loadgen/open-loop.js'
import { type MachineInfo, machineInfo } from './machine/machine-info.js'
import type { GroupFigures, StepUsage } from './machine/process-sampler.js'
import { type BenchOptions, recordableOptions } from './options.js'

/** A flat metric value: numbers in the unit its key names (`_ms`, `_rps`, `_rate` = share 0…1). */
export type MetricValue = number | string | boolean | null

/**
 * One step of a search, as recorded: which search (`phase`), its rate, verdicts per SLO, and the outcome;
 * with the process sampler on, where the cores went (`cpu_us_per_request`, …).
 */
export interface StepRecord extends StepResult, Partial<StepUsage> {
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
  target?: TargetRecord
  /** CPU µs per request of every process on the machine, at the MST step (workload suites). */
  cpu_us_per_request?: number | null
  /** The server's resident memory at the MST step (workload suites). */
  server_rss_mb?: number | null
  /** CPU µs per request by process group at the MST step (workload suites). */
  cpu_us_per_request_by_process?: GroupFigures | null
  metrics: Record<string, MetricValue>
  steps: StepRecord[]
  notes: string[]
  extra: Record<string, unknown>
}

/** What ran: the target's kind and address and, for the microblog, its stores, queue and processes. */
export interface TargetRecord {
  kind: string
  base_url: string
  /** Where the app keeps its data: `database`, the read `cache`'s shared tier, `home_timelines`. */
  stores?: Record<string, string>
  /** The write queue: `jetstream`, `in-process` or `off`. */
  queue?: string
  /** Processes of the app: the one that serves, plus its consumer processes when they run apart. */
  app_processes?: number
  /** Processes that run only the write queue's consumers (`--consumers process`), at a lower priority. */
  consumer_processes?: number
  /** Why `--target auto` ran less than the full system, when it did. */
  fallback?: string
}

/** The figures of the MST step a workload suite puts at the top of its results. */
export type MstUsage = Pick<
  ResultsDocument,
  'cpu_us_per_request' | 'server_rss_mb' | 'cpu_us_per_request_by_process'
>

/** What a suite hands to `writeResults`. */
export interface ResultsInput {
  description?: string
  metrics: Record<string, MetricValue>
  steps?: StepRecord[]
  target?: TargetRecord
  usage?: MstUsage
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
    ...input.usage,
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
