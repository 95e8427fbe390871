import { performance } from 'node:perf_hooks'
import type { SocialGraph } from '../../dataset/graph.js'
import { BenchError } from '../../errors.js'
import type { BenchOptions } from '../../options.js'
import type { StepRecord } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { effectiveAppEnv, recordableSettings } from '../../target/app-record.js'
import type { AppStack } from '../../target/app-stack.js'
import { withServerTail } from '../../target/server-tail.js'
import { APP_ENV, startApp } from '../../target/target.js'
import { measureWorkload, resolveOptionsGraph } from '../../workload-suite.js'
import { DSB_MIX } from '../../workloads/dsb.js'
import { openStageDatabase } from './stage-database.js'
import { type StageDefinition, selectStages, stageEnv, stageKnobs } from './stage-ladder.js'
import { ladderMetrics, type StageRow, skippedRow, stageRow } from './stage-row.js'
import { PG_BIN_DIR, probeStores, type StoreAvailability, skipReason } from './stage-stores.js'
import { writeStagesReport } from './stages-report.js'
import { writeStagesResults } from './stages-results.js'

const NAME = 'stages'
const DESCRIPTION =
  'The evolution ladder in one run: the dsb-mixed workload on each stage of the microblog (single, pool, cache, replicas, queue), same dataset'

/** The workload of every stage: dsb-mixed's, through the same measuring path. */
const WORKLOAD = { surface: 'wrk2', mix: DSB_MIX } as const

/**
 * `npm run bench -- stages`: starts the microblog in each stage's configuration in turn (its own `HF_*`
 * settings, on a fresh database), loads the same dataset, measures the ceiling of that process and the
 * DeathStarBench mix's MST at each SLO, and writes `bench/results/stages.json` (one row per stage) with
 * one chart. A stage whose store is missing is skipped with the reason in its row.
 */
export const stagesSuite: Suite = {
  name: NAME,
  description: DESCRIPTION,
  run: runStages,
  report: writeStagesReport,
}

async function runStages(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  if (options.target !== 'auto') {
    throw new BenchError(
      'E_BENCH_OPTION',
      `options.target must be auto for ${NAME}: the suite starts the app itself, in each stage's configuration`,
      { context: { target: options.target } },
    )
  }
  const stages = selectStages(options.stages)
  const graph = await resolveOptionsGraph(options)
  const stores = await probeStores(options, PG_BIN_DIR, signal)
  const missing = Object.entries(stores).filter(([, why]) => why !== undefined)
  if (missing.length > 0) log(`stores: ${missing.map(([store, why]) => `${store}: ${why}`).join('; ')}`)

  const rows: StageRow[] = []
  const steps: StepRecord[] = []
  const failures: string[] = []
  for (const stage of stages) {
    const stageLog = (line: string): void => options.log(`[${NAME}:${stage.name}] ${line}`)
    const reason = skipReason(stage, stores)
    if (reason !== undefined) {
      stageLog(`skipped: ${reason}`)
      rows.push(skippedRow(stage, reason, recordableSettings(stageKnobs(stage)), options.slosMs))
      continue
    }
    try {
      const outcome = await runStage(stage, graph, stores, { ...options, log: stageLog }, signal)
      rows.push(outcome.row)
      steps.push(...outcome.steps.map((step) => ({ ...step, phase: `${stage.name}:${step.phase}` })))
    } catch (error) {
      if (signal.aborted) throw error
      const failure = `failed: ${(error as Error).message}`
      stageLog(failure)
      failures.push(`${stage.name} ${failure}`)
      rows.push(skippedRow(stage, failure, recordableSettings(stageKnobs(stage)), options.slosMs))
    }
  }

  const metrics = { ...ladderMetrics(rows, options.slosMs), run_s: seconds(started) }
  const loosest = Math.max(...options.slosMs)
  const path = await writeStagesResults(
    NAME,
    {
      description: DESCRIPTION,
      dataset: {
        name: graph.name,
        source: graph.source,
        users: graph.users,
        edges: graph.edges.length,
        max_posts_per_user: options.maxPostsPerUser,
        seed: options.seed,
      },
      stages: rows,
      metrics,
      steps,
      notes: [
        'Each stage loads the same graph with the same seed into a fresh database, then measures GET /ceiling of the same process and the dsb-mixed MST.',
        `mst_to_ceiling is the MST at p99 ≤ ${loosest} ms over the ceiling; mst_to_ceiling_p99_<slo>ms divides that SLO's MST by the same ceiling.`,
        'error_rate, cpu_us_per_request and cpu_us_per_request_by_process are those of the MST step of the loosest SLO.',
        'Steps are named <stage>:<phase>.',
      ],
    },
    options,
  )
  const files = [path, ...(options.report ? await writeStagesReport(path) : [])]
  log(`wrote ${files.join(', ')}`)
  if (failures.length > 0) {
    throw new BenchError('E_BENCH_SUITE', `${failures.join('; ')} (results written to ${path})`, {
      context: { failures },
    })
  }
  return { metrics, files }
}

/** One stage: its database, the app in its configuration, the measurement, its row. */
async function runStage(
  stage: StageDefinition,
  graph: SocialGraph,
  stores: StoreAvailability,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
): Promise<{ row: StageRow; steps: StepRecord[] }> {
  const started = performance.now()
  const namespace = `bench_${process.pid}_${stage.name}`
  await using database = await openStageDatabase(stage, options, stores, signal, options.log)
  const env = stageEnv(stage, {
    databaseUrl: database.databaseUrl,
    replicaUrls: database.replicaUrls,
    redisUrl: options.redisUrl,
    natsUrl: options.natsUrl,
    namespace,
  })
  const stack: AppStack = {
    kind: stage.queue ? 'full' : 'postgres',
    postgres: true,
    ...(stage.cache || stage.queue ? { redisUrl: options.redisUrl } : {}),
    ...(stage.queue ? { natsUrl: options.natsUrl } : {}),
  }
  const pin = options.serverCpus === undefined ? {} : { serverCpus: options.serverCpus }
  await using target = await startApp({ stack, env, namespace, ...pin, consumers: options.consumers }, signal)
  const { stores: placed, queue } = target.summary
  options.log(
    `app at ${target.baseUrl}: ${Object.entries(placed ?? {})
      .map(([store, where]) => `${store} ${where}`)
      .join(', ')}, queue ${queue}`,
  )
  const run = await withServerTail(target, options.log, () =>
    measureWorkload(WORKLOAD, target, options, signal, options.log, graph),
  )
  const row = stageRow(
    stage,
    run,
    {
      settings: recordableSettings(effectiveAppEnv({ ...APP_ENV, ...env })),
      target: target.summary,
      database: {
        server: database.server,
        replicas: database.replicaUrls.length,
        settings: database.settings,
      },
      runSeconds: seconds(started),
    },
    options.slosMs,
  )
  return { row, steps: run.steps }
}

const seconds = (since: number): number => Math.round(performance.now() - since) / 1000
