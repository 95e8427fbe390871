import { performance } from 'node:perf_hooks'
import { openApiSessions } from './dataset/api-sessions.js'
import { resolveGraph, type SocialGraph } from './dataset/graph.js'
import { loadApiDataset } from './dataset/load-api.js'
import { loadDsbDataset } from './dataset/load-dsb.js'
import type { LoadStats } from './dataset/load-graph.js'
import type { RequestSource } from './loadgen/request.js'
import { PROCESS_GROUPS } from './machine/process-groups.js'
import { processSampler } from './machine/process-sampler.js'
import { type SearchTargetInput, searchTarget, type TargetSearch } from './mst/search-target.js'
import type { BenchOptions } from './options.js'
import { writeResultsAndReport } from './report/write-report.js'
import type { MetricValue, MstUsage, StepRecord } from './results.js'
import type { Suite, SuiteOutcome } from './suite.js'
import { withServerTail } from './target/server-tail.js'
import { openTarget, type Target } from './target/target.js'
import { type ApiSession, apiSource } from './workloads/api.js'
import { ceilingSource } from './workloads/ceiling.js'
import { dsbSource, type Mix } from './workloads/dsb.js'

/** A workload suite: a request mix through one API surface. */
export interface WorkloadDefinition {
  name: string
  description: string
  /** `wrk2` = DeathStarBench's `/wrk2-api` forms; `api` = `/api/v1` with bearer tokens. */
  surface: 'wrk2' | 'api'
  mix: Mix
}

/**
 * Builds a suite that loads the dataset, measures the ceiling, searches the workload's MST at each SLO and
 * writes `bench/results/<name>.json` plus its HTML report and PNG chart.
 *
 * @example
 * export const dsbMixed = workloadSuite({ name: 'dsb-mixed', description: '…', surface: 'wrk2', mix: DSB_MIX })
 */
export function workloadSuite(definition: WorkloadDefinition): Suite {
  return {
    name: definition.name,
    description: definition.description,
    run: (options, signal) => runWorkload(definition, options, signal),
  }
}

async function runWorkload(
  definition: WorkloadDefinition,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
): Promise<SuiteOutcome> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[${definition.name}] ${line}`)
  await using target = await openTarget(options, signal, log)
  log(`target ${target.kind} at ${target.baseUrl}`)
  return await withServerTail(target, log, async () => {
    const run = await measureWorkload(definition, target, options, signal, log)
    const metrics = { ...run.metrics }
    metrics['target'] = target.kind
    // App processes serving the mix (behind nginx on the stack; else the one the kit started).
    metrics['apps'] = target.pids.length || null
    metrics['dataset'] = run.graph.name
    metrics['dataset_users'] = run.graph.users
    metrics['dataset_edges'] = run.graph.edges.length
    metrics['dataset_posts'] = run.loaded?.posts ?? null
    metrics['load_s'] = run.loaded?.seconds ?? null
    metrics['run_s'] = Math.round(performance.now() - started) / 1000
    const document = {
      description: definition.description,
      metrics,
      steps: run.steps,
      target: target.summary,
      usage: run.usage,
      extra: {
        mix: definition.mix,
        surface: definition.surface,
        dataset_source: run.graph.source,
        ...(run.loaded ? { load: run.loaded } : {}),
        ...(run.search.estimate_rps === undefined
          ? {}
          : { closed_loop_estimate_rps: run.search.estimate_rps }),
      },
    }
    const files = await writeResultsAndReport(definition.name, document, options, log)
    // The stack's figures are also kept apart, so a later run on one process does not replace them.
    if (target.kind === 'stack') {
      files.push(...(await writeResultsAndReport(`${definition.name}-stack`, document, options, log)))
    }
    return { metrics, files }
  })
}

/** What one workload run against a started target measured. */
export interface WorkloadMeasurement {
  graph: SocialGraph
  /** What loading wrote; undefined when the dataset was assumed loaded. */
  loaded: LoadStats | undefined
  /** The workload's MST search. */
  search: TargetSearch
  /** The ceiling's search, when it was measured in the run. */
  ceiling: TargetSearch | undefined
  /** The ceiling (measured, or given by `--ceiling <rps>`); null when skipped. */
  ceilingRps: number | null
  /** The ceiling's steps, then the workload's. */
  steps: StepRecord[]
  /** `workloadMetrics` of the search. */
  metrics: Record<string, MetricValue>
  /** Where the cores went at the MST step. */
  usage: MstUsage
}

/**
 * Loads the dataset when the target is fresh (or `--load`), measures the ceiling of the same process,
 * then searches the workload's MST at each SLO: the one path every workload run takes, whichever suite
 * writes its results. `graph` is resolved from the options when not given.
 *
 * @example
 * const run = await measureWorkload({ surface: 'wrk2', mix: DSB_MIX }, target, options, signal, log)
 */
export async function measureWorkload(
  definition: Pick<WorkloadDefinition, 'surface' | 'mix'>,
  target: Target,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  log: (line: string) => void,
  graph?: SocialGraph,
): Promise<WorkloadMeasurement> {
  const pid = target.pid === undefined ? {} : { serverPid: target.pid }
  const sampler = processSampler({
    serverPids: target.pids,
    consumerPids: target.consumerPids,
    metricsUrl: `${target.baseUrl}/metrics`,
  })

  graph ??= await resolveOptionsGraph(options)
  log(`dataset ${graph.name} (${graph.source}): ${graph.users} users, ${graph.edges.length} edges`)
  let loaded: LoadStats | undefined
  let sessions: ApiSession[] | undefined
  if (options.load ?? target.fresh) {
    const loadOptions = {
      concurrency: options.loadConcurrency,
      seed: options.seed,
      maxPostsPerUser: options.maxPostsPerUser,
      log,
      settle: (settleSignal: AbortSignal) => target.settle(settleSignal, log),
    }
    // A workload that signs in loads its users through /api/v1: /wrk2-api users cannot sign in.
    if (definition.surface === 'api') {
      ;({ stats: loaded, sessions } = await loadApiDataset(target.baseUrl, graph, loadOptions, signal))
    } else {
      loaded = await loadDsbDataset(target.baseUrl, graph, loadOptions, signal)
    }
    log(
      `loaded ${loaded.users} users, ${loaded.follows} follows, ${loaded.posts} posts in ${loaded.seconds} s`,
    )
  }

  let source: RequestSource
  if (definition.surface === 'api') {
    sessions ??= await openApiSessions(target.baseUrl, graph.users, options.loadConcurrency, signal)
    log(`${sessions.length} /api/v1 sessions open`)
    source = apiSource(definition.mix, sessions)
  } else {
    source = dsbSource(definition.mix, graph.users)
  }

  let ceiling: TargetSearch | undefined
  let ceilingRps: number | null = typeof options.ceiling === 'number' ? options.ceiling : null
  if (options.ceiling === 'measure' && options.rate === undefined) {
    ceiling = await searchTarget(
      {
        phase: 'ceiling',
        baseUrl: target.baseUrl,
        source: ceilingSource,
        slosMs: [Math.max(...options.slosMs)],
        sampler,
        ...pid,
      },
      options,
      signal,
    )
    ceilingRps = ceiling.mst[String(Math.max(...options.slosMs))] ?? null
  }
  const search = await searchTarget(
    { phase: 'mst', baseUrl: target.baseUrl, source, slosMs: options.slosMs, sampler, ...pid },
    options,
    signal,
  )
  // The same low rate on the fixed route and on the mix, same process and stores: what an idle request costs.
  const low = ceiling
    ? await lowLoadPair(target.baseUrl, source, options, signal, { sampler, ...pid })
    : undefined
  const metrics = workloadMetrics(options, search, ceilingRps)
  if (low) metrics['low_load_p99_ratio'] = low.ratio
  return {
    graph,
    loaded,
    search,
    ceiling,
    ceilingRps,
    steps: [...(ceiling?.steps ?? []), ...search.steps, ...(low?.steps ?? [])],
    metrics,
    usage: mstUsage(mstStep(options, search)),
  }
}

/** The rate of the low-load pair: well below any MST, so both answers show a nearly idle server. */
export const LOW_LOAD_RPS = 200

/**
 * The shortest window of each low-load step (unless `--smoke`): at 200 req/s an 8 s window holds 1,600
 * answers, whose p99 is the 16th slowest and moves by a factor of four between runs on this VM; 30 s
 * holds 6,000.
 */
export const LOW_LOAD_WINDOW_MS = 30_000

/**
 * One step of `/ceiling` and one of the mix at {@link LOW_LOAD_RPS}, and the ratio of their p99s
 * (`low_load_p99_ratio`): how much more than the fixed route an idle request of the mix costs.
 */
async function lowLoadPair(
  baseUrl: string,
  source: RequestSource,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  extra: Pick<SearchTargetInput, 'sampler' | 'serverPid'>,
): Promise<{ ratio: number | null; steps: StepRecord[] }> {
  const durationMs = options.smoke ? options.durationMs : Math.max(options.durationMs, LOW_LOAD_WINDOW_MS)
  const fixed = { ...options, rate: LOW_LOAD_RPS, durationMs }
  const slosMs = [Math.max(...options.slosMs)]
  const route = await searchTarget(
    { phase: 'low-ceiling', baseUrl, source: ceilingSource, slosMs, ...extra },
    fixed,
    signal,
  )
  const mix = await searchTarget({ phase: 'low-mst', baseUrl, source, slosMs, ...extra }, fixed, signal)
  const p99 = (search: TargetSearch) => search.steps[0]?.latency.p99_ms
  const [routeP99, mixP99] = [p99(route), p99(mix)]
  const ratio = routeP99 && mixP99 !== undefined ? round(mixP99 / routeP99, 2) : null
  return { ratio, steps: [...route.steps, ...mix.steps] }
}

/** The graph the options name: the dataset folder, or a generated graph. */
export function resolveOptionsGraph(
  options: Pick<BenchOptions, 'dataset' | 'generate' | 'seed' | 'graphUsers' | 'graphEdges'>,
): Promise<SocialGraph> {
  return resolveGraph(options.dataset, {
    generate: options.generate,
    seed: options.seed,
    users: options.graphUsers,
    edges: options.graphEdges,
  })
}

/** The flat metrics of a workload run; keys are documented in bench/README.md. */
export function workloadMetrics(
  options: Pick<BenchOptions, 'slosMs' | 'rate'>,
  search: TargetSearch,
  ceilingRps: number | null,
): Record<string, MetricValue> {
  const metrics: Record<string, MetricValue> = {}
  const loosest = String(Math.max(...options.slosMs))
  for (const slo of options.slosMs) {
    metrics[`mst_rps_p99_${slo}ms`] = search.mst[String(slo)] ?? null
    if (search.capped[String(slo)]) metrics[`mst_capped_p99_${slo}ms`] = true
  }
  const mst = search.mst[loosest]
  metrics['ceiling_rps'] = ceilingRps
  metrics['mst_to_ceiling'] = mst !== undefined && ceilingRps ? round(mst / ceilingRps, 3) : null
  const tight = search.mst['10']
  if (options.slosMs.includes(10)) {
    metrics['mst_to_ceiling_p99_10ms'] =
      tight !== undefined && ceilingRps ? round(tight / ceilingRps, 4) : null
  }
  const at = mstStep(options, search)
  metrics['offered_rps'] = at?.offered_rps ?? null
  metrics['achieved_rps'] = at ? round(at.achieved_rps, 1) : null
  metrics['p50_ms'] = at?.latency.p50_ms ?? null
  metrics['p90_ms'] = at?.latency.p90_ms ?? null
  metrics['p99_ms'] = at?.latency.p99_ms ?? null
  metrics['p999_ms'] = at?.latency.p999_ms ?? null
  metrics['max_ms'] = at?.latency.max_ms ?? null
  metrics['error_rate'] = at ? round(at.error_rate, 6) : null
  metrics['sender_cpu'] = at?.sender_cpu ?? null
  metrics['server_cpu'] = at?.server_cpu ?? null
  metrics['cpu_us_per_request'] = at?.cpu_us_per_request?.total ?? null
  for (const group of PROCESS_GROUPS) {
    metrics[`cpu_us_per_request_${group}`] = at?.cpu_us_per_request?.[group] ?? null
  }
  metrics['server_rss_mb'] = at?.server_rss_mb ?? null
  metrics['server_heap_used_mb'] = at?.server_heap_used_mb ?? null
  metrics['server_loop_delay_p99_ms'] = at?.server_loop_delay_p99_ms ?? null
  for (const [endpoint, result] of Object.entries(at?.endpoints ?? {})) {
    metrics[`${endpoint}_p50_ms`] = result.p50_ms
    metrics[`${endpoint}_p99_ms`] = result.p99_ms
    metrics[`${endpoint}_p999_ms`] = result.p999_ms
  }
  // Empty pages depend on the data, not the rate: pool every step of the workload search.
  const pages = new Map<string, { pages: number; empty: number }>()
  for (const step of search.steps) {
    for (const [endpoint, result] of Object.entries(step.endpoints)) {
      if (result.pages === 0) continue
      const acc = pages.get(endpoint) ?? { pages: 0, empty: 0 }
      acc.pages += result.pages
      acc.empty += result.empty_pages
      pages.set(endpoint, acc)
    }
  }
  let totalPages = 0
  let totalEmpty = 0
  for (const [endpoint, acc] of pages) {
    metrics[`${endpoint}_empty_page_rate`] = round(acc.empty / acc.pages, 4)
    totalPages += acc.pages
    totalEmpty += acc.empty
  }
  metrics['empty_page_rate'] = totalPages === 0 ? null : round(totalEmpty / totalPages, 4)
  metrics['steps'] = search.steps.length
  return metrics
}

/** The step the MST figures come from: the MST step of the loosest SLO, or the one fixed-rate step. */
function mstStep(
  options: Pick<BenchOptions, 'slosMs' | 'rate'>,
  search: TargetSearch,
): StepRecord | undefined {
  if (options.rate !== undefined) return search.steps[0]
  const mst = search.mst[String(Math.max(...options.slosMs))]
  return search.steps.find((s) => s.phase === 'mst' && s.rate === mst)
}

/** Where the cores went at the MST step, for the top of the results document. */
function mstUsage(at: StepRecord | undefined): MstUsage {
  return {
    cpu_us_per_request: at?.cpu_us_per_request?.total ?? null,
    server_rss_mb: at?.server_rss_mb ?? null,
    cpu_us_per_request_by_process: at?.cpu_us_per_request ?? null,
  }
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
