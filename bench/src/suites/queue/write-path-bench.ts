import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createQueue, type Queue } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import { Redis } from 'ioredis'
import { openApiSessions } from '../../dataset/api-sessions.js'
import { generateGraph, resolveGraph, type SocialGraph } from '../../dataset/graph.js'
import { loadApiDataset } from '../../dataset/load-api.js'
import { type LoadStats, WARM_CONCURRENCY } from '../../dataset/load-graph.js'
import { BenchError } from '../../errors.js'
import { searchTarget, type TargetSearch } from '../../mst/search-target.js'
import type { BenchOptions } from '../../options.js'
import { withServerTail } from '../../target/server-tail.js'
import type { ApiSession } from '../../workloads/api.js'
import { apiSource } from '../../workloads/api.js'
import { type AppDatabase, openAppDatabase, recordableEnv, spawnApp } from './app-under-test.js'
import { watchBacklog } from './backlog-watch.js'
import { measureComposeBurst } from './compose-burst.js'
import { measureFanoutLag } from './fanout-lag.js'
import { warmHomeTimelines } from './warm-timelines.js'
import type { WritePathOutcome } from './write-path-outcome.js'
import { writePathResults } from './write-path-results.js'
import { BURST_FACTOR, FULL_SHAPE, SLO_MS, SMOKE_GRAPH, SMOKE_SHAPE } from './write-path-shape.js'
import {
  cleanUpNamespace,
  EDGES_CONSUMER,
  followsStream,
  natsServerInfo,
  postsStream,
  redisServerInfo,
  TIMELINE_CONSUMER,
  waitForDrain,
} from './write-queue-probe.js'

/** Where the broker and Redis are: `NATS_URL` (as the package steps) and `HF_BENCH_REDIS_URL` (as the cache suite). */
export interface WritePathEndpoints {
  natsServers: string
  redisUrl: string
}

/**
 * The microblog's queued write path, end to end, on one database:
 * 1. the app with `HF_QUEUE=off` loads the graph, then the MST (p99 ≤ 50 ms) of `POST /api/v1/posts`
 *    on the synchronous write path is searched (skipped when `HF_BENCH_COMPOSE_MST` gives it);
 * 2. the same app with `HF_QUEUE=on` (JetStream + Redis home timelines) on the same database: every
 *    home timeline is warmed, composes run open loop at 1,000/s while a sample of posts is watched
 *    appearing in a follower's timeline in Redis (fan-out lag), then a burst at 10× the MST measures
 *    acceptance latency, 503s and how long the backlog takes to drain.
 * Returns undefined when the target is not one the suite can start (a URL, `synthetic`).
 */
export async function measureWritePath(
  options: Readonly<BenchOptions>,
  endpoints: WritePathEndpoints,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<WritePathOutcome | undefined> {
  const started = performance.now()
  const loadavgAtStart = loadavg().map((v) => Math.round(v * 100) / 100)
  const given = givenComposeMst(options)
  await using database = await openAppDatabase(options, signal, log)
  if (!database) return undefined
  const graph = await benchGraph(options)
  log(`dataset ${graph.name} (${graph.source}): ${graph.users} users, ${graph.edges.length} edges`)
  const namespace = `bench_${process.pid}`
  const natsUrl = endpoints.natsServers.includes('://')
    ? endpoints.natsServers
    : `nats://${endpoints.natsServers}`
  const shared = { HF_NATS_URL: natsUrl, HF_REDIS_URL: endpoints.redisUrl, HF_NAMESPACE: namespace }
  const redis = new Redis(endpoints.redisUrl, { maxRetriesPerRequest: 2 })
  redis.on('error', () => {}) // each command's caller gets its error
  const queue = createQueue({ driver: jetstreamDriver({ servers: endpoints.natsServers, name: 'bench' }) })
  try {
    return await run({
      options,
      signal,
      log,
      database,
      graph,
      shared,
      redis,
      queue,
      namespace,
      given,
      started,
      loadavgAtStart,
    })
  } finally {
    await cleanUpNamespace(queue, redis, namespace).catch(() => {})
    await queue.drain().catch(() => {})
    await redis.quit().catch(() => redis.disconnect())
  }
}

interface RunContext {
  options: Readonly<BenchOptions>
  signal: AbortSignal
  log: (line: string) => void
  database: AppDatabase
  graph: SocialGraph
  shared: Record<string, string>
  redis: Redis
  queue: Queue
  namespace: string
  given: number | undefined
  started: number
  loadavgAtStart: number[]
}

async function run(ctx: RunContext): Promise<WritePathOutcome> {
  const { options, signal, log, database, graph, namespace } = ctx
  const shape = options.smoke ? SMOKE_SHAPE : FULL_SHAPE
  const maxPostsPerUser = options.smoke
    ? Math.min(options.maxPostsPerUser, SMOKE_GRAPH.maxPostsPerUser)
    : options.maxPostsPerUser
  const loadOptions = { concurrency: options.loadConcurrency, seed: options.seed, maxPostsPerUser, log }
  const posts = postsStream(namespace)
  const queueConsumers = [
    [posts, TIMELINE_CONSUMER],
    [followsStream(namespace), EDGES_CONSUMER],
  ] as const

  // 1. The synchronous write path: load, then its compose MST.
  let loaded: LoadStats | undefined
  let sessions: ApiSession[] | undefined
  let search: TargetSearch | undefined
  let syncEnv: Record<string, string> | undefined
  if (ctx.given === undefined) {
    await using sync = await spawnApp(database, { ...ctx.shared, HF_QUEUE: 'off' }, options, signal)
    log(`app (HF_QUEUE=off) at ${sync.baseUrl} on ${database.kind}`)
    syncEnv = recordableEnv(sync.env)
    await withServerTail(sync, log, async () => {
      ;({ stats: loaded, sessions } = await loadApiDataset(sync.baseUrl, graph, loadOptions, signal))
      log(
        `loaded ${loaded.users} users, ${loaded.follows} follows, ${loaded.posts} posts in ${loaded.seconds} s`,
      )
      search = await searchTarget(
        {
          phase: 'compose-sync',
          baseUrl: sync.baseUrl,
          serverPid: sync.pid,
          source: apiSource({ home: 0, user: 0, compose: 1 }, sessions),
          slosMs: [SLO_MS],
        },
        { ...options, rate: undefined },
        signal,
      )
    })
  }
  const mst = ctx.given ?? search?.mst[String(SLO_MS)] ?? 0
  const burstRate = BURST_FACTOR * Math.max(mst, options.minRate)
  log(
    `compose MST on the synchronous path: ${mst} req/s${ctx.given === undefined ? '' : ' (given)'} → burst at ${burstRate} req/s`,
  )

  // 2. The queued write path on the same database.
  await using app = await spawnApp(database, { ...ctx.shared, HF_QUEUE: 'on' }, options, signal)
  log(`app (HF_QUEUE=on) at ${app.baseUrl}, namespace ${namespace}`)
  // `return await`: the app must outlive the steps (`await using` disposes it when this function returns).
  return await withServerTail(app, log, async () => {
    if (!loaded) {
      ;({ stats: loaded, sessions } = await loadApiDataset(app.baseUrl, graph, loadOptions, signal))
      log(
        `loaded ${loaded.users} users, ${loaded.follows} follows, ${loaded.posts} posts in ${loaded.seconds} s`,
      )
    }
    // Edges not yet reconciled would invalidate warmed timelines: let both consumers catch up first.
    const settled = await waitForDrain(
      ctx.queue,
      queueConsumers,
      { everyMs: 100, timeoutMs: shape.drainTimeoutMs },
      signal,
    )
    if (!settled.drained) log(`the queue had not drained after ${shape.drainTimeoutMs / 1000} s; going on`)
    sessions ??= await openApiSessions(app.baseUrl, graph.users, options.loadConcurrency, signal)
    const warm = await warmHomeTimelines(
      app.baseUrl,
      sessions,
      ctx.redis,
      namespace,
      WARM_CONCURRENCY,
      signal,
    )
    log(`${warm} of ${sessions.length} home timelines warm`)

    const followers: number[][] = Array.from({ length: graph.users }, () => [])
    for (const [a, b] of graph.edges) {
      followers[a]!.push(b)
      followers[b]!.push(a)
    }
    const sender = {
      baseUrl: app.baseUrl,
      arrival: options.arrival,
      connections: options.connections,
      timeoutMs: options.timeoutMs,
      maxInFlight: options.maxInFlight,
      serverPid: app.pid,
    }
    const fanoutBacklog = watchBacklog(ctx.queue, posts, TIMELINE_CONSUMER, 100, signal)
    const fanout = await measureFanoutLag(
      {
        ...sender,
        ratePerSecond: shape.fanoutRate,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        drainMs: options.timeoutMs + 1000, // every 202 of the window is a candidate sample, however late
        seed: options.seed + 101,
        sessions,
        followers,
        redis: ctx.redis,
        namespace,
        sampleEvery: shape.sampleEvery,
        pollMs: shape.pollMs,
        maxWaitMs: shape.maxWaitMs,
      },
      signal,
    )
    log(
      `[fanout] ${shape.fanoutRate} posts/s → accepted ${fanout.load.achieved_rps}/s (accept p99 ${fanout.load.accept.p99_ms} ms); ` +
        `lag p50 ${fanout.lag.p50_ms} p99 ${fanout.lag.p99_ms} max ${fanout.lag.max_ms} ms over ${fanout.visible} of ${fanout.samples} samples` +
        (fanout.not_visible > 0 ? `, ${fanout.not_visible} never visible` : ''),
    )
    const fanoutDrain = await fanoutBacklog.finish(performance.now(), shape.drainTimeoutMs)
    log(
      `[fanout] timeline backlog peak ${fanoutDrain.peak}, ` +
        (fanoutDrain.drained ? 'drained' : `not drained after ${shape.drainTimeoutMs / 1000} s`),
    )

    const quiet = await waitForDrain(
      ctx.queue,
      queueConsumers,
      { everyMs: 100, timeoutMs: shape.drainTimeoutMs },
      signal,
    )
    if (!quiet.drained) log('the backlog of the fan-out step did not drain before the burst; going on')
    const composers = sessions
    const composeAt = (ratePerSecond: number, seed: number) =>
      measureComposeBurst(
        {
          ...sender,
          ratePerSecond,
          durationMs: shape.burstMs,
          seed,
          sessions: composers,
          queue: ctx.queue,
          stream: posts,
          consumer: TIMELINE_CONSUMER,
          drainTimeoutMs: shape.drainTimeoutMs,
        },
        signal,
      )
    // The same queued composes at a tenth of the burst's rate first: the accept p99 a burst is compared to.
    const calm = await composeAt(burstRate / BURST_FACTOR, options.seed + 201)
    log(
      `[calm] ${burstRate / BURST_FACTOR} req/s for ${shape.burstMs / 1000} s → accept p50 ${calm.load.accept.p50_ms} ` +
        `p99 ${calm.load.accept.p99_ms} ms`,
    )
    const burst = await composeAt(burstRate, options.seed + 202)
    log(
      `[burst] ${burstRate} req/s for ${shape.burstMs / 1000} s → accepted ${burst.load.achieved_rps}/s, ` +
        `accept p50 ${burst.load.accept.p50_ms} p99 ${burst.load.accept.p99_ms} ms, 503s ${burst.load.by_status['503'] ?? 0}, ` +
        `backlog peak ${burst.backlog_peak}, ${burst.drained ? `drained ${burst.drain_s} s after the burst` : 'not drained'}`,
    )

    const [nats, redisInfo] = await Promise.all([
      natsServerInfo(ctx.shared['HF_NATS_URL']!),
      redisServerInfo(ctx.redis).catch((error: unknown) => ({ error: String(error) })),
    ])
    return writePathResults({
      options,
      shape,
      given: ctx.given,
      mst,
      search,
      burstRate,
      calm,
      burst,
      fanout,
      fanoutDrain,
      fanoutBacklog: fanoutBacklog.series,
      warm,
      database: database.kind,
      graph,
      loaded,
      syncEnv,
      queuedEnv: recordableEnv(app.env),
      consumerProcesses: app.consumerPid === undefined ? 0 : 1,
      broker: { url: ctx.shared['HF_NATS_URL'], ...nats },
      redis: { url: ctx.shared['HF_REDIS_URL'], ...redisInfo },
      loadavgAtStart: ctx.loadavgAtStart,
      runS: Math.round(performance.now() - ctx.started) / 1000,
    })
  })
}

/** The graph of the run: socfb-Reed98 (or `--generate`), a small generated one for `--smoke`. */
async function benchGraph(options: Readonly<BenchOptions>): Promise<SocialGraph> {
  if (options.smoke && !options.generate) {
    return generateGraph(SMOKE_GRAPH.users, SMOKE_GRAPH.edges, options.seed)
  }
  return resolveGraph(options.dataset, {
    generate: options.generate,
    seed: options.seed,
    users: options.graphUsers,
    edges: options.graphEdges,
  })
}

/** `HF_BENCH_COMPOSE_MST=<rps>` (or a `composeMst` option): take the sync compose MST as given. */
function givenComposeMst(options: Readonly<BenchOptions>): number | undefined {
  const raw = (options as Partial<{ composeMst: number }>).composeMst ?? process.env['HF_BENCH_COMPOSE_MST']
  if (raw === undefined || raw === '') return undefined
  const rate = Number(raw)
  if (!(Number.isFinite(rate) && rate > 0)) {
    throw new BenchError('E_BENCH_OPTION', 'HF_BENCH_COMPOSE_MST must be a positive rate in req/s', {
      context: { value: raw },
    })
  }
  return rate
}
