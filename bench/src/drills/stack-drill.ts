import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { loadDsbDataset } from '../dataset/load-dsb.js'
import { createLatencyHistogram, recordLatencyMs, summarizeLatency } from '../loadgen/histogram.js'
import { type MetricValue, readResults, writeResults } from '../results.js'
import { openStackSession, type StackSession } from '../target/stack-session.js'
import { resolveOptionsGraph } from '../workload-suite.js'
import { DSB_MIX } from '../workloads/dsb.js'
import {
  type Drill,
  type DrillOptions,
  type DrillOutcome,
  FALLBACK_RATE,
  type Floor,
  judgeFloors,
} from './drill.js'
import { type DrillEvent, type DrillLoad, failed, runDrillLoad } from './drill-load.js'
import { auditWrites, markedDsbSource, type WriteAudit } from './drill-writes.js'

/** The unrecorded load a drill offers a stack it has just started and loaded. */
const WARM_UP_MS = 15_000

/** Where a drill's load goes instead of the stack's nginx (e.g. a floating address in front of it). */
export interface DrillFront extends AsyncDisposable {
  /** `http://host:port` the mix is sent to. */
  readonly url: string
}

/** What a drill on the stack does under load, and the figures it adds. */
export interface StackDrillDefinition<Front extends DrillFront = DrillFront> {
  name: string
  description: string
  /** Needs PostgreSQL under Patroni (`npm run stack -- --ha`). @default false */
  ha?: boolean
  /**
   * Puts something in front of (or beside) the stack for the drill's load — a floating address, an
   * extra replica the apps are rolled onto — started after any warm-up, disposed after the drill.
   * @default none: the load goes to the stack's nginx
   */
  front?(stack: StackSession, signal: AbortSignal, log: (line: string) => void): Promise<Front>
  /** The fault or release, run while the mix flows; may return figures of its own. */
  action(
    stack: StackSession,
    signal: AbortSignal,
    log: (line: string) => void,
    front: Front | undefined,
  ): Promise<void | Record<string, MetricValue>>
  /** Puts the stack back as it was (e.g. starts a killed app again). @default nothing */
  restore?(stack: StackSession, signal: AbortSignal, log: (line: string) => void): Promise<void>
  /** The drill's own keys, from its load and the audit of its writes. */
  metrics(load: DrillLoad, audit: WriteAudit): Record<string, MetricValue>
  /** Its floors; every stack drill also has `acked_writes_lost` ≤ 0. */
  floors: Readonly<Record<string, Floor>>
}

/**
 * A drill on the stack (`npm run stack`): uses the running stack or starts one (loading DeathStarBench's
 * dataset), offers the mix through nginx at half the stack's MST, runs the action in the middle, audits
 * every write in the database afterwards, writes `bench/results/drill-<name>.json`, and leaves the stack
 * as it found it.
 */
export function stackDrill<Front extends DrillFront>(definition: StackDrillDefinition<Front>): Drill {
  const floors = { ...definition.floors, acked_writes_lost: { max: 0 } }
  return {
    name: definition.name,
    description: definition.description,
    floors,
    run: (options, signal) => runStackDrill(definition, floors, options, signal),
  }
}

async function runStackDrill<Front extends DrillFront>(
  definition: StackDrillDefinition<Front>,
  floors: Readonly<Record<string, Floor>>,
  options: Readonly<DrillOptions>,
  signal: AbortSignal,
): Promise<DrillOutcome> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[drill ${definition.name}] ${line}`)
  await using stack = await openStackSession({
    ...(options.dir === undefined ? {} : { dir: options.dir }),
    ...(options.apps === undefined ? {} : { apps: options.apps }),
    ...(definition.ha ? { ha: true } : {}),
    log,
  })
  const state = stack.state
  const settle = (settleSignal: AbortSignal) => stack.settle(settleSignal, log)
  if (stack.started) await loadAndWarm(stack, options, signal, log)
  const graph = await drillGraph(options)
  const { rate, rateSource } = await drillRate(options)
  await using front = await definition.front?.(stack, signal, log)
  const baseUrl = front?.url ?? state.frontUrl
  log(`mix at ${rate} req/s (${rateSource}) through ${baseUrl}, ${state.apps.length} apps`)
  const run = randomBytes(4).toString('hex')
  let restored = false
  let actionMetrics: Record<string, MetricValue> = {}
  try {
    const load = await runDrillLoad(
      {
        baseUrl,
        ratePerSecond: rate,
        source: markedDsbSource(DSB_MIX, graph.users, run),
        seed: options.seed,
        beforeMs: options.aroundMs,
        afterMs: options.aroundMs,
        action: async () => {
          actionMetrics = (await definition.action(stack, signal, log, front)) ?? {}
        },
      },
      signal,
    )
    await definition.restore?.(stack, signal, log)
    restored = true
    await settle(signal)
    const audit = await auditWrites(load.events, await stack.primaryDatabaseUrl(signal), run, 60_000)
    const failedRequests = load.events.filter(failed).length
    const metrics: Record<string, MetricValue> = {
      mttr_s: mttrSeconds(load),
      ...actionMetrics,
      ...definition.metrics(load, audit),
      requests: load.events.length,
      failed_requests: failedRequests,
      availability: load.events.length === 0 ? 1 : round(1 - failedRequests / load.events.length, 5),
      acked_writes_lost: audit.acknowledged_missing,
      resent_reads: load.resends,
      p99_ms_during: duringP99(load),
      duration_s: round((load.actionEnd - load.actionStart) / 1000, 2),
      offered_rps: rate,
      apps: state.apps.length,
      acknowledged_writes: audit.acknowledged,
      acknowledged_writes_missing: audit.acknowledged_missing,
      failed_writes: audit.failed,
      failed_writes_clean_5xx: audit.failed_clean_5xx,
      failed_writes_stored: audit.failed_but_stored,
      run_s: round((performance.now() - started) / 1000, 1),
    }
    const verdicts = judgeFloors(floors, metrics)
    metrics['floors_met'] = verdicts.every((verdict) => verdict.met)
    const file = await writeResults(
      `drill-${definition.name}`,
      {
        description: definition.description,
        metrics,
        target: {
          kind: 'stack',
          base_url: baseUrl,
          app_processes: state.apps.length,
          consumer_processes: state.consumers.length,
          queue: 'jetstream',
        },
        notes: [`rate: ${rateSource}`],
        extra: {
          floors: verdicts,
          failures_by_outcome: failuresByOutcome(load.events),
          write_audit: audit,
          per_second: perSecond(load),
        },
      },
      { outDir: options.outDir },
    )
    log(`wrote ${file}`)
    return { metrics, file, floors: verdicts }
  } finally {
    if (!restored) await definition.restore?.(stack, signal, log).catch(() => {})
  }
}

/** DeathStarBench's socfb-Reed98 graph, as every drill offers it. */
function drillGraph(options: Readonly<DrillOptions>) {
  return resolveOptionsGraph({ ...options, generate: false, graphUsers: 962, graphEdges: 18_812 })
}

/**
 * Loads DeathStarBench's dataset into a stack this run has just started, then warms it: caches and home
 * timelines are cold, and a cold stack sheds. The warm-up is the drill's own mix at its rate (not
 * recorded; its posts are marked with a run of their own).
 */
export async function loadAndWarm(
  stack: StackSession,
  options: Readonly<DrillOptions>,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const settle = (settleSignal: AbortSignal) => stack.settle(settleSignal, log)
  const graph = await drillGraph(options)
  const loaded = await loadDsbDataset(
    stack.state.frontUrl,
    graph,
    { concurrency: 32, seed: options.seed, maxPostsPerUser: 20, log, settle },
    signal,
  )
  log(`loaded ${loaded.users} users, ${loaded.follows} follows, ${loaded.posts} posts in ${loaded.seconds} s`)
  const { rate } = await drillRate(options)
  log(`warming up for ${WARM_UP_MS / 1000} s`)
  await runDrillLoad(
    {
      baseUrl: stack.state.frontUrl,
      ratePerSecond: rate,
      source: markedDsbSource(DSB_MIX, graph.users, `${randomBytes(4).toString('hex')}w`),
      seed: options.seed + 1,
      beforeMs: WARM_UP_MS,
      afterMs: 0,
      action: async () => {},
    },
    signal,
  )
  await settle(signal)
}

/** `--rate`, else half the MST (p99 ≤ 50 ms) of the last `dsb-mixed --target stack`, else a safe default. */
async function drillRate(options: Readonly<DrillOptions>): Promise<{ rate: number; rateSource: string }> {
  if (options.rate !== undefined) return { rate: options.rate, rateSource: '--rate' }
  const path = join(options.outDir, 'dsb-mixed-stack.json')
  if (existsSync(path)) {
    const mst = (await readResults(path)).metrics['mst_rps_p99_50ms']
    if (typeof mst === 'number' && mst > 0) {
      return { rate: Math.round(mst / 2), rateSource: `half the stack's MST of ${mst} req/s in ${path}` }
    }
  }
  return { rate: FALLBACK_RATE, rateSource: `no stack MST in ${path}: a fixed ${FALLBACK_RATE} req/s` }
}

/**
 * Time to repair, as the clients saw it: from the fault (the action's start) to the answer of the last
 * request that failed; 0 when none did.
 */
export function mttrSeconds(load: DrillLoad): number {
  let last = load.actionStart
  for (const event of load.events) if (failed(event) && event.at > last) last = event.at
  return round((last - load.actionStart) / 1000, 2)
}

/** p99 latency of the requests due while the action ran. */
function duringP99(load: DrillLoad): number {
  const histogram = createLatencyHistogram()
  for (const event of load.events) {
    if (event.intended >= load.actionStart && event.intended <= load.actionEnd) {
      recordLatencyMs(histogram, event.at - event.intended)
    }
  }
  return summarizeLatency(histogram).p99_ms
}

/** Each second of the load (by intended send time, 0 = the action's start): requests, failures, p99. */
function perSecond(
  load: DrillLoad,
): Array<{ t_s: number; requests: number; failed: number; p99_ms: number }> {
  const seconds = new Map<number, { histogram: ReturnType<typeof createLatencyHistogram>; failed: number }>()
  for (const event of load.events) {
    const second = Math.floor((event.intended - load.actionStart) / 1000)
    let bucket = seconds.get(second)
    if (!bucket) {
      bucket = { histogram: createLatencyHistogram(), failed: 0 }
      seconds.set(second, bucket)
    }
    recordLatencyMs(bucket.histogram, event.at - event.intended)
    if (failed(event)) bucket.failed++
  }
  return [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, bucket]) => ({
      t_s: second,
      requests: bucket.histogram.totalCount,
      failed: bucket.failed,
      p99_ms: summarizeLatency(bucket.histogram).p99_ms,
    }))
}

/** Failed requests by endpoint and outcome, e.g. `{ 'compose 502': 3 }`. */
export function failuresByOutcome(events: readonly DrillEvent[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const event of events) {
    if (!failed(event)) continue
    const key = `${event.spec.endpoint} ${event.outcome}`
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
