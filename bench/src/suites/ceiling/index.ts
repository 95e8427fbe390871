import { performance } from 'node:perf_hooks'
import { runClosedLoop } from '../../loadgen/closed-loop.js'
import { runWrk } from '../../loadgen/wrk.js'
import { processSampler } from '../../machine/process-sampler.js'
import { searchTarget } from '../../mst/search-target.js'
import type { BenchOptions } from '../../options.js'
import { writeResultsAndReport } from '../../report/write-report.js'
import type { MetricValue } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { openTarget } from '../../target/target.js'
import { CEILING_PATH, ceilingSource } from '../../workloads/ceiling.js'

const NAME = 'ceiling'

/**
 * The stack's own limit: the open-loop MST of `GET /ceiling` (fixed 1 KB JSON) through the same server, plus
 * our closed-loop throughput beside `wrk`'s on the same route, to show the sender is not the bottleneck.
 */
export const ceiling: Suite = {
  name: NAME,
  description: 'MST of GET /ceiling (fixed 1 KB JSON, same server stack); closed loop vs wrk; sender CPU',
  run: runCeiling,
}

async function runCeiling(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  await using target = await openTarget(options, signal, log)
  const pid = target.pid === undefined ? {} : { serverPid: target.pid }
  log(`target ${target.kind} at ${target.baseUrl}`)
  const slos = [...options.slosMs].sort((a, b) => b - a)
  const sampler = processSampler({
    serverPids: target.pids,
    consumerPids: target.consumerPids,
    metricsUrl: `${target.baseUrl}/metrics`,
  })
  const search = await searchTarget(
    { phase: 'ceiling', baseUrl: target.baseUrl, source: ceilingSource, slosMs: slos, sampler, ...pid },
    options,
    signal,
  )
  const metrics: Record<string, MetricValue> = { target: target.kind }
  const loosest = String(slos[0])
  metrics['ceiling_rps'] = search.mst[loosest] ?? null
  for (const slo of slos.slice(1)) metrics[`ceiling_rps_p99_${slo}ms`] = search.mst[String(slo)] ?? null
  const at =
    options.rate !== undefined ? search.steps[0] : search.steps.find((s) => s.rate === search.mst[loosest])
  metrics['p50_ms'] = at?.latency.p50_ms ?? null
  metrics['p99_ms'] = at?.latency.p99_ms ?? null
  metrics['p999_ms'] = at?.latency.p999_ms ?? null
  metrics['error_rate'] = at?.error_rate ?? null
  metrics['sender_cpu'] = at?.sender_cpu ?? null
  metrics['server_cpu'] = at?.server_cpu ?? null
  metrics['schedule_lag_p99_ms'] = at?.schedule_lag_p99_ms ?? null

  const closed = await runClosedLoop(
    {
      baseUrl: target.baseUrl,
      connections: options.closedConnections,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      timeoutMs: options.timeoutMs,
      seed: options.seed,
      source: ceilingSource,
      ...pid,
    },
    signal,
  )
  log(
    `closed loop (${options.closedConnections} connections): ${closed.rps.toFixed(0)} req/s, p99 ` +
      `${closed.latency.p99_ms} ms, sender cpu ${closed.sender_cpu}, server cpu ${closed.server_cpu ?? 'n/a'}`,
  )
  metrics['closed_loop_rps'] = Math.round(closed.rps)
  metrics['closed_loop_p99_ms'] = closed.latency.p99_ms
  metrics['closed_loop_sender_cpu'] = closed.sender_cpu
  metrics['closed_loop_server_cpu'] = closed.server_cpu ?? null
  metrics['closed_loop_errors'] = closed.errors
  if (options.wrk) {
    const durationS = Math.max(1, Math.round((options.warmupMs + options.durationMs) / 1000))
    const wrk = await runWrk(
      {
        url: `${target.baseUrl}${CEILING_PATH}`,
        threads: 1,
        connections: options.closedConnections,
        durationS,
      },
      signal,
    )
    log(
      `wrk -t1 -c${options.closedConnections} -d${durationS}s: ${wrk.rps.toFixed(0)} req/s, p99 ${wrk.p99_ms} ms`,
    )
    metrics['wrk_rps'] = Math.round(wrk.rps)
    metrics['wrk_p99_ms'] = wrk.p99_ms
    metrics['wrk_errors'] = wrk.errors
    metrics['closed_loop_to_wrk'] = wrk.rps > 0 ? Math.round((closed.rps / wrk.rps) * 1000) / 1000 : null
    metrics['closed_loop_within_15pct_of_wrk'] =
      wrk.rps > 0 ? Math.abs(closed.rps / wrk.rps - 1) <= 0.15 : null
  }
  metrics['steps'] = search.steps.length
  metrics['run_s'] = Math.round(performance.now() - started) / 1000
  const files = await writeResultsAndReport(
    NAME,
    {
      description: ceiling.description,
      metrics,
      steps: search.steps,
      target: target.summary,
      extra: {
        closed_loop: closed,
        ...(search.estimate_rps === undefined ? {} : { estimate_rps: search.estimate_rps }),
      },
    },
    options,
    log,
  )
  return { metrics, files }
}
