import { performance } from 'node:perf_hooks'
import type { SocialGraph } from '../../dataset/graph.js'
import { loadDsbDataset } from '../../dataset/load-dsb.js'
import { searchTarget } from '../../mst/search-target.js'
import type { BenchOptions } from '../../options.js'
import type { TargetRecord } from '../../results.js'
import { withServerTail } from '../../target/server-tail.js'
import { openTarget } from '../../target/target.js'
import { DSB_MIX, dsbSource } from '../../workloads/dsb.js'
import { runDrillLoad } from '../drill-load.js'
import { watchMetrics } from './metrics-watch.js'
import { type OverloadFigures, overloadFigures, p99Between } from './overload-figures.js'
import { type SwitchTimes, switchTimes } from './switch-times.js'

/** The shape of one side's load: a quiet stretch, the overload, then half the MST while it recovers. */
export interface OverloadPlan {
  sloMs: number
  /** The MST to overload; undefined: this side measures it first (p99 ≤ sloMs). */
  mstRps: number | undefined
  multiple: number
  quietRps: number
  quietMs: number
  overloadMs: number
  recoveryMs: number
}

/** What one side measured. */
export interface SideOutcome {
  mstRps: number
  mstSource: string
  unloadedP99Ms: number
  figures: OverloadFigures
  antispam: SwitchTimes
  /** The inbound limit's range during the overload (guarded side). */
  limit: { min: number | null; max: number | null }
  target: TargetRecord
}

/**
 * One side of the drill: the microblog (full system: PostgreSQL, Redis, JetStream) with `env`, the
 * DeathStarBench dataset loaded, its MST measured when the plan has none, then one open-loop load:
 * `quietMs` at `quietRps` (the unloaded p99), `overloadMs` at `multiple` × MST, `recoveryMs` at half
 * the MST, while `/metrics` is read every 250 ms for the degrade switch and the limit.
 */
export async function runOverloadSide(
  name: string,
  env: Record<string, string>,
  plan: OverloadPlan,
  graph: SocialGraph,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
): Promise<SideOutcome> {
  const log = (line: string): void => options.log(`[drill overload:${name}] ${line}`)
  await using target = await openTarget({ ...options, target: 'full', env }, signal, log)
  return await withServerTail(target, log, async () => {
    const loaded = await loadDsbDataset(
      target.baseUrl,
      graph,
      {
        concurrency: options.loadConcurrency,
        seed: options.seed,
        maxPostsPerUser: options.maxPostsPerUser,
        log,
        settle: (s) => target.settle(s, log),
      },
      signal,
    )
    log(`loaded ${loaded.users} users, ${loaded.posts} posts in ${loaded.seconds} s`)
    const source = dsbSource(DSB_MIX, graph.users)
    let mstRps = plan.mstRps
    let mstSource = 'measured by the other side of this run'
    if (mstRps === undefined) {
      const search = await searchTarget(
        { phase: 'mst', baseUrl: target.baseUrl, source, slosMs: [plan.sloMs], ...pidOf(target.pid) },
        options,
        signal,
      )
      mstRps = search.mst[String(plan.sloMs)] ?? 0
      mstSource = `measured in this run (p99 ≤ ${plan.sloMs} ms)`
      if (!(mstRps > 0)) throw new Error(`no MST found at p99 ≤ ${plan.sloMs} ms`)
    }
    const peak = mstRps * plan.multiple
    log(`MST ${mstRps} req/s; quiet ${plan.quietRps}, overload ${peak}, recovery ${mstRps / 2} req/s`)
    const { quietMs, overloadMs, recoveryMs } = plan
    const rateAt = (ms: number): number =>
      ms < quietMs ? plan.quietRps : ms < quietMs + overloadMs ? peak : mstRps / 2
    const watch = watchMetrics(`${target.baseUrl}/metrics`, 250, signal)
    const begun = performance.now()
    const load = await runDrillLoad(
      {
        baseUrl: target.baseUrl,
        ratePerSecond: plan.quietRps,
        rateAt,
        source,
        seed: options.seed,
        beforeMs: 0,
        afterMs: 0,
        connections: 512,
        timeoutMs: 10_000,
        action: () => until(quietMs + overloadMs + recoveryMs, signal),
      },
      signal,
    )
    const samples = await watch.stop()
    const start = begun + quietMs
    const window = { start, end: start + overloadMs, recoveryEnd: start + overloadMs + recoveryMs }
    // The quiet stretch's second half: caches warm, nothing queued.
    const unloadedP99Ms = p99Between(load.events, begun + quietMs / 2, start)
    const figures = overloadFigures(load.events, window, mstRps, plan.sloMs)
    const limits = samples
      .filter((s) => s.at >= window.start && s.at < window.end && s.concurrencyLimit !== undefined)
      .map((s) => s.concurrencyLimit!)
    log(
      `goodput ${figures.goodput_rps} req/s (${figures.goodput_ratio} of MST), admitted p99 ${figures.admitted_p99_ms} ms, ` +
        `rejected ${figures.rejected} (p99 ${figures.rejected_p99_ms} ms), recovery ${figures.recovery_s} s`,
    )
    return {
      mstRps,
      mstSource,
      unloadedP99Ms: Math.round(unloadedP99Ms * 100) / 100,
      figures,
      antispam: switchTimes(samples, window),
      limit: {
        min: limits.length > 0 ? Math.min(...limits) : null,
        max: limits.length > 0 ? Math.max(...limits) : null,
      },
      target: target.summary,
    }
  })
}

/** Resolves after `ms`, or at once when `signal` fires. */
function until(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

const pidOf = (pid: number | undefined) => (pid === undefined ? {} : { serverPid: pid })
