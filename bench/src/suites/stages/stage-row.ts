import type { GroupFigures } from '../../machine/process-sampler.js'
import type { MetricValue, TargetRecord } from '../../results.js'
import type { WorkloadMeasurement } from '../../workload-suite.js'
import type { StageDefinition } from './stage-ladder.js'

/** Figures keyed by SLO: `mst_rps_p99_50ms`, `mst_to_ceiling_p99_10ms`, `mst_capped_p99_50ms`. */
type SloKey = `mst_rps_p99_${number}ms` | `mst_to_ceiling_p99_${number}ms` | `mst_capped_p99_${number}ms`

/** One row of `bench/results/stages.json`: one stage, its settings and its figures (null when skipped). */
export interface StageRow {
  [figure: SloKey]: number | boolean | null
  stage: string
  description: string
  /** The `HF_*` the app got (secrets left out); for a skipped stage, only its own knobs. */
  settings: Record<string, string>
  /** The ceiling of the same process (`GET /ceiling`), so the ratios compare across stages. */
  ceiling_rps: number | null
  /** Set when the ceiling's search ran out of steps (or hit `--max-rate`) still passing: a lower bound. */
  ceiling_capped?: true
  /** MST at the loosest SLO over the ceiling. */
  mst_to_ceiling: number | null
  /** At the MST step of the loosest SLO, as every workload suite reports it. */
  error_rate: number | null
  cpu_us_per_request: number | null
  cpu_us_per_request_by_process: GroupFigures | null
  p99_ms: number | null
  server_rss_mb: number | null
  dataset_posts: number | null
  load_s: number | null
  steps: number
  run_s: number | null
  /** What ran: stores and queue as the app's environment says. */
  target?: TargetRecord
  /** The PostgreSQL the stage ran on: started by the suite or `--postgres-url`, its replicas and settings. */
  database?: { server: string; replicas: number; settings: Record<string, string> }
  /** Why the stage did not run (a store missing, or the failure that stopped it). */
  skipped?: string
}

/** What the suite knows about a stage's run besides the measurement. */
export interface StageRunContext {
  settings: Record<string, string>
  target: TargetRecord
  database: NonNullable<StageRow['database']>
  runSeconds: number
}

/**
 * Shapes a measured stage into its row: the MST at each SLO, the ceiling of the same process and the
 * ratios to it, and the error rate and where the cores went at the MST step.
 *
 * @example
 * const row = stageRow(stage, await measureWorkload(…), context, options.slosMs)
 */
export function stageRow(
  stage: StageDefinition,
  run: Pick<WorkloadMeasurement, 'metrics' | 'usage' | 'ceiling' | 'ceilingRps' | 'loaded' | 'steps'>,
  context: StageRunContext,
  slosMs: readonly number[],
): StageRow {
  const loosest = Math.max(...slosMs)
  const number = (value: MetricValue | undefined): number | null => (typeof value === 'number' ? value : null)
  const row: StageRow = {
    ...emptyRow(stage, context.settings, slosMs),
    ceiling_rps: run.ceilingRps,
    mst_to_ceiling: number(run.metrics['mst_to_ceiling']),
    error_rate: number(run.metrics['error_rate']),
    cpu_us_per_request: run.usage.cpu_us_per_request ?? null,
    cpu_us_per_request_by_process: run.usage.cpu_us_per_request_by_process ?? null,
    p99_ms: number(run.metrics['p99_ms']),
    server_rss_mb: number(run.metrics['server_rss_mb']),
    dataset_posts: run.loaded?.posts ?? null,
    load_s: run.loaded?.seconds ?? null,
    steps: run.steps.length,
    run_s: context.runSeconds,
    target: context.target,
    database: context.database,
  }
  if (run.ceiling?.capped[String(loosest)]) row.ceiling_capped = true
  for (const slo of slosMs) {
    const mst = number(run.metrics[`mst_rps_p99_${slo}ms`])
    row[`mst_rps_p99_${slo}ms`] = mst
    if (run.metrics[`mst_capped_p99_${slo}ms`] === true) row[`mst_capped_p99_${slo}ms`] = true
    if (slo !== loosest) {
      row[`mst_to_ceiling_p99_${slo}ms`] =
        mst !== null && run.ceilingRps ? round(mst / run.ceilingRps, 3) : null
    }
  }
  return row
}

/** The row of a stage that did not run: every figure null, and why. */
export function skippedRow(
  stage: StageDefinition,
  reason: string,
  settings: Record<string, string>,
  slosMs: readonly number[],
): StageRow {
  return { ...emptyRow(stage, settings, slosMs), skipped: reason }
}

function emptyRow(
  stage: StageDefinition,
  settings: Record<string, string>,
  slosMs: readonly number[],
): StageRow {
  const loosest = Math.max(...slosMs)
  // Keys in reading order: the MSTs, the ceiling, the ratios, then the rest.
  const msts: Partial<Record<SloKey, null>> = {}
  const ratios: Partial<Record<SloKey, null>> = {}
  for (const slo of slosMs) {
    msts[`mst_rps_p99_${slo}ms`] = null
    if (slo !== loosest) ratios[`mst_to_ceiling_p99_${slo}ms`] = null
  }
  return {
    stage: stage.name,
    description: stage.description,
    settings,
    ...msts,
    ceiling_rps: null,
    mst_to_ceiling: null,
    ...ratios,
    error_rate: null,
    cpu_us_per_request: null,
    cpu_us_per_request_by_process: null,
    p99_ms: null,
    server_rss_mb: null,
    dataset_posts: null,
    load_s: null,
    steps: 0,
    run_s: null,
  }
}

/**
 * The flat metrics of the run (what the CLI prints): `<stage>_mst_rps_p99_<slo>ms`, `<stage>_ceiling_rps`,
 * `<stage>_mst_to_ceiling` for each stage that ran, and how many ran and were skipped.
 */
export function ladderMetrics(
  rows: readonly StageRow[],
  slosMs: readonly number[],
): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {
    stages_run: rows.filter((row) => !row.skipped).length,
    stages_skipped: rows.filter((row) => row.skipped).length,
  }
  for (const row of rows) {
    if (row.skipped) continue
    for (const slo of slosMs)
      metrics[`${row.stage}_mst_rps_p99_${slo}ms`] = row[`mst_rps_p99_${slo}ms`] ?? null
    metrics[`${row.stage}_ceiling_rps`] = row.ceiling_rps
    metrics[`${row.stage}_mst_to_ceiling`] = row.mst_to_ceiling
  }
  return metrics
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
