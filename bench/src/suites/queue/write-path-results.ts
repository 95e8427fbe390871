import { loadavg } from 'node:os'
import type { SocialGraph } from '../../dataset/graph.js'
import type { LoadStats } from '../../dataset/load-graph.js'
import type { TargetSearch } from '../../mst/search-target.js'
import type { BenchOptions } from '../../options.js'
import type { MetricValue } from '../../results.js'
import type { ComposeBurstResult } from './compose-burst.js'
import type { FanoutLagResult } from './fanout-lag.js'
import type { WritePathOutcome } from './write-path-outcome.js'
import { BURST_FACTOR, SLO_MS, type WritePathShape } from './write-path-shape.js'

/** Everything the write-path steps measured, to be written as flat metrics, notes and details. */
export interface WritePathFigures {
  options: Readonly<BenchOptions>
  shape: Readonly<WritePathShape>
  /** The sync compose MST when given (`HF_BENCH_COMPOSE_MST`), else undefined. */
  given: number | undefined
  mst: number
  search: TargetSearch | undefined
  burstRate: number
  /** Queued composes at a tenth of the burst's rate, just before it. */
  calm: ComposeBurstResult
  burst: ComposeBurstResult
  fanout: FanoutLagResult
  fanoutDrain: { drained: boolean; peak: number }
  fanoutBacklog: ReadonlyArray<readonly [number, number]>
  warm: number
  database: string
  graph: SocialGraph
  loaded: LoadStats
  syncEnv: Record<string, string> | undefined
  queuedEnv: Record<string, string>
  /** Processes that ran only the queued app's consumers (0: they ran inside it). */
  consumerProcesses: number
  broker: Record<string, unknown>
  redis: Record<string, unknown>
  loadavgAtStart: number[]
  runS: number
}

/**
 * The write path's part of `bench/results/queue.json`: flat metrics (keys in bench/README.md), how each
 * was measured (notes), and the details (environment, broker, per-step results, backlog series).
 */
export function writePathResults(input: WritePathFigures): WritePathOutcome {
  const metrics: Record<string, MetricValue> = {
    compose_sync_mst_rps: input.mst,
    compose_sync_mst_given: input.given !== undefined,
    ...(input.search?.capped[String(SLO_MS)] ? { compose_sync_mst_capped: true } : {}),
    compose_burst_rps: input.burstRate,
    compose_burst_s: input.shape.burstMs / 1000,
    compose_burst_scheduled: input.burst.load.scheduled,
    compose_burst_accepted: input.burst.load.accepted,
    compose_burst_achieved_rps: input.burst.load.achieved_rps,
    compose_accept_p50_ms: input.burst.load.accept.p50_ms,
    compose_accept_p99_ms: input.burst.load.accept.p99_ms,
    compose_accept_p999_ms: input.burst.load.accept.p999_ms,
    compose_accept_max_ms: input.burst.load.accept.max_ms,
    compose_burst_503: input.burst.load.by_status['503'] ?? 0,
    compose_consumer_processes: input.consumerProcesses,
    compose_calm_rps: input.burstRate / BURST_FACTOR,
    compose_calm_accept_p99_ms: input.calm.load.accept.p99_ms,
    burst_accept_p99_ratio:
      input.calm.load.accept.p99_ms > 0
        ? Math.round((input.burst.load.accept.p99_ms / input.calm.load.accept.p99_ms) * 100) / 100
        : null,
    compose_burst_errors: input.burst.load.scheduled - input.burst.load.accepted,
    compose_burst_backlog_peak: input.burst.backlog_peak,
    compose_burst_drain_s: input.burst.drained ? input.burst.drain_s : null,
    compose_burst_server_cpu: input.burst.load.server_cpu ?? null,
    compose_burst_machine_cpu: input.burst.load.machine_cpu ?? null,
    fanout_rps: input.shape.fanoutRate,
    fanout_achieved_rps: input.fanout.load.achieved_rps,
    fanout_accept_p99_ms: input.fanout.load.accept.p99_ms,
    fanout_lag_p50_ms: input.fanout.lag.p50_ms,
    fanout_lag_p90_ms: input.fanout.lag.p90_ms,
    fanout_lag_p99_ms: input.fanout.lag.p99_ms,
    fanout_lag_max_ms: input.fanout.lag.max_ms,
    fanout_lag_samples: input.fanout.visible,
    fanout_not_visible: input.fanout.not_visible,
    fanout_server_cpu: input.fanout.load.server_cpu ?? null,
    fanout_machine_cpu: input.fanout.load.machine_cpu ?? null,
    fanout_backlog_peak: input.fanoutDrain.peak,
    warm_timelines: input.warm,
    target: input.database,
    dataset: input.graph.name,
    dataset_users: input.graph.users,
    dataset_edges: input.graph.edges.length,
    dataset_posts: input.loaded.posts,
    load_s: input.loaded.seconds,
    write_path_run_s: input.runS,
  }
  return {
    metrics,
    steps: input.search?.steps ?? [],
    notes: [
      `compose = POST /api/v1/posts with a bearer token and DeathStarBench post text (as api-mixed); sync MST = MST at p99 <= ${SLO_MS} ms of the app with HF_QUEUE=off (201), steps phase compose-sync`,
      `burst: open loop (${input.options.arrival}) at ${BURST_FACTOR}x the sync MST for ${input.shape.burstMs / 1000} s against the app with HF_QUEUE=on (${input.consumerProcesses > 0 ? `its consumers in ${input.consumerProcesses} process of their own at nice 10, the app with HF_CONSUMERS=off` : 'its consumers inside it'}), from rest (idle server, ${input.options.connections} sender connections opened beforehand); accept latency = intended send time to the 202; drain = end of the burst to the timeline consumer's backlog (pending + unacked, JetStream consumer info every 50 ms) reading 0`,
      `fan-out: open loop at ${input.shape.fanoutRate} posts/s (warm-up ${input.options.warmupMs / 1000} s, window ${input.options.durationMs / 1000} s), authors uniform among users with followers, every home timeline warmed first; every ${input.shape.sampleEvery}th 202 of the window is watched: ZSCORE of its member in one random follower's hf:<ns>:home:<id>, polled (pipelined) every ${input.shape.pollMs} ms at first, then every 5% of the sample's age (at most 250 ms); lag = the answer that found it - the 202's arrival (upper bound: over by at most max(${input.shape.pollMs} ms, 5% of the lag) + one Redis round trip)`,
      'fanout_lag_p99_ms floor (issue 7): <= 1000',
      ...(input.given === undefined
        ? []
        : ['compose_sync_mst_rps was given (HF_BENCH_COMPOSE_MST), not measured in this run']),
      ...(input.options.smoke
        ? [
            `smoke: a generated graph of ${input.graph.users} users, ${input.shape.fanoutRate} posts/s, figures mean little`,
          ]
        : []),
    ],
    extra: {
      env_sync: input.syncEnv ?? null,
      env_queued: input.queuedEnv,
      broker: input.broker,
      redis: input.redis,
      load: input.loaded,
      // Others share this 2-core machine: the load average says how quiet it was.
      loadavg_at_start: input.loadavgAtStart,
      loadavg_at_end: loadavg().map(round2),
      dataset_source: input.graph.source,
      ...(input.search?.estimate_rps === undefined
        ? {}
        : { compose_sync_closed_loop_estimate_rps: input.search.estimate_rps }),
      fanout: {
        load: input.fanout.load,
        samples: input.fanout.samples,
        visible: input.fanout.visible,
        not_visible: input.fanout.not_visible,
        unmatched: input.fanout.unmatched,
        lag: input.fanout.lag,
        visible_at_first_poll: input.fanout.visible_at_first_poll,
        polls: input.fanout.polls,
        zscores: input.fanout.zscores,
        max_poll_batch: input.fanout.max_poll_batch,
        by_second: input.fanout.by_second,
        backlog_series_ms: input.fanoutBacklog,
      },
      burst: {
        load: input.burst.load,
        backlog_peak: input.burst.backlog_peak,
        drained: input.burst.drained,
        drain_s: input.burst.drain_s,
        backlog_series_ms: input.burst.series,
      },
    },
  }
}

const round2 = (value: number): number => Math.round(value * 100) / 100
