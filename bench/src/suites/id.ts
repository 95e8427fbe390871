import { fileURLToPath } from 'node:url'
import { DEFAULT_EPOCH, Snowflake } from '@hundredfold/id'
import { Snowflake as SapphireSnowflake } from '@sapphire/snowflake'
import { Snowflake as NodejsSnowflake } from 'nodejs-snowflake'
import { runPinnedRawLoad, runPinnedWrk } from '../id/pinned-load.js'
import { runProperty } from '../id/property.js'
import type { RawLoadResult } from '../id/raw-load.js'
import { duplicatesIn, idsPerSecond } from '../id/throughput.js'
import type { BenchOptions } from '../options.js'
import { type MetricValue, writeResults } from '../results.js'
import type { Suite, SuiteOutcome } from '../suite.js'
import { databaseUrl, dropDatabase, postgresReachable, recreateDatabase } from '../target/postgres-db.js'
import { spawnServer } from '../target/spawn-server.js'

const NAME = 'id'
const SERVICE_ENTRY = fileURLToPath(new URL('../../../packages/id/dist/service/main.js', import.meta.url))
const PEER_ENTRY = fileURLToPath(new URL('../id/peer-server.js', import.meta.url))
const PROPERTY_DATABASE = 'hf_bench_id'

/**
 * `@hundredfold/id` beside `@sapphire/snowflake` and `nodejs-snowflake` in one run: ids per second in
 * process (and how many of them were duplicates), batches, the ID service over HTTP keep-alive on one
 * core beside node:http peers (wrk and our raw senders pinned to the other core), and the cross-process property run (8 processes, 10^7 ids, worker ids leased from PostgreSQL).
 */
export const idSuite: Suite = {
  name: NAME,
  description:
    'Snowflake ids/s in process and over HTTP beside @sapphire/snowflake and nodejs-snowflake; 10^7-id property run',
  run: runId,
}

async function runId(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const metrics: Record<string, MetricValue> = {}
  const notes: string[] = []
  const windowMs = options.smoke ? 500 : 3000
  const duplicateSample = options.smoke ? 200_000 : 2_000_000

  // In process, one worker id each. The layout caps a worker at 4096 ids per ms = 4.096 M/s.
  const ours = new Snowflake({ workerId: 1 })
  metrics['ids_per_s_inprocess'] = Math.round(idsPerSecond(() => ours.next(), windowMs))
  metrics['ids_per_s_batch'] = Math.round(idsPerSecond(() => ours.nextBatch(1000), windowMs, 1000))
  metrics['duplicates_inprocess'] = duplicatesIn(() => ours.next(), duplicateSample)
  log(`ours: ${metrics['ids_per_s_inprocess']} ids/s, batches ${metrics['ids_per_s_batch']} ids/s`)

  const sapphire = new SapphireSnowflake(DEFAULT_EPOCH)
  metrics['peer_sapphire_ids_per_s'] = Math.round(idsPerSecond(() => sapphire.generate(), windowMs))
  metrics['peer_sapphire_duplicates'] = duplicatesIn(() => sapphire.generate(), duplicateSample)
  const nodejs = new NodejsSnowflake({ custom_epoch: DEFAULT_EPOCH, instance_id: 1 })
  metrics['peer_nodejs_snowflake_ids_per_s'] = Math.round(idsPerSecond(() => nodejs.getUniqueID(), windowMs))
  metrics['peer_nodejs_snowflake_duplicates'] = duplicatesIn(
    () => nodejs.getUniqueID() as bigint,
    duplicateSample,
  )
  metrics['duplicate_sample_ids'] = duplicateSample
  log(
    `@sapphire/snowflake: ${metrics['peer_sapphire_ids_per_s']} ids/s, ${metrics['peer_sapphire_duplicates']} ` +
      `duplicates in ${duplicateSample}; nodejs-snowflake: ${metrics['peer_nodejs_snowflake_ids_per_s']} ids/s, ` +
      `${metrics['peer_nodejs_snowflake_duplicates']} duplicates`,
  )
  signal.throwIfAborted()

  await measureService(options, signal, metrics, log)
  await measureProperty(options, signal, metrics, notes, log)

  const path = await writeResults(
    NAME,
    { description: idSuite.description, metrics, notes, extra: { window_ms: windowMs } },
    options,
  )
  return { metrics, files: [path] }
}

interface SingleIdFigures {
  /** `wrk -t1 -c50` on the sender's core: the closed-loop ceiling. */
  rps: number
  wrk_p99_ms: number
  /** Server CPU while wrk ran, in cores: ~1 means the service's core, not the sender, was the limit. */
  server_cpu: number | null
  /** Our raw closed loop beside wrk (same connections), to show neither sender is the bottleneck. */
  closed_loop_rps: number
  /** The open loop at {@link P99_RATE}. */
  open: RawLoadResult
  /** The open loop at half of `rps`, when asked for. */
  openAtHalf?: RawLoadResult
}

/**
 * One server on `cpus` (taskset), measured for one id per request: `wrk` and our closed loop for the
 * ceiling, then the open loop at {@link P99_RATE} (and, with `atHalf`, at half of wrk's rate) for p99.
 * Both senders run pinned to the other core.
 */
async function measureSingle(
  target: { baseUrl: string; pid: number },
  options: Readonly<BenchOptions>,
  senderCpus: string | undefined,
  signal: AbortSignal,
  atHalf = false,
): Promise<SingleIdFigures> {
  const url = new URL(target.baseUrl)
  const base = {
    host: url.hostname,
    port: Number(url.port),
    path: '/ids',
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    drainMs: options.drainMs,
    seed: options.seed,
  }
  const durationS = Math.max(1, Math.round((options.warmupMs + options.durationMs) / 1000))
  const wrk = await runPinnedWrk(
    {
      url: `${target.baseUrl}/ids`,
      connections: options.closedConnections,
      durationS,
      cpus: senderCpus,
      serverPid: target.pid,
    },
    signal,
  )
  const closed = await runPinnedRawLoad(
    { ...base, mode: 'closed', connections: options.closedConnections },
    senderCpus,
    signal,
  )
  const openLoop = (ratePerSecond: number) =>
    runPinnedRawLoad(
      { ...base, mode: 'open', connections: OPEN_LOOP_CONNECTIONS, ratePerSecond, arrival: options.arrival },
      senderCpus,
      signal,
    )
  const open = await openLoop(P99_RATE)
  const openAtHalf = atHalf ? await openLoop(Math.max(1, Math.round(wrk.rps / 2))) : undefined
  return {
    rps: Math.round(wrk.rps),
    wrk_p99_ms: wrk.p99_ms,
    server_cpu: wrk.server_cpu,
    closed_loop_rps: closed.achieved_rps,
    open,
    ...(openAtHalf ? { openAtHalf } : {}),
  }
}

/**
 * The p99 floor's rate: half of the 30,000 req/s throughput floor, the same offered load for the service and
 * its peers. (Half of the service's own ceiling is measured too, but above ~40 k req/s a one-core Node sender
 * is itself late: see `service_single_half_send_lag_p99_ms`.)
 */
const P99_RATE = 15_000

/** Connections of the open loop: one request outstanding on each, enough that they rarely all wait. */
const OPEN_LOOP_CONNECTIONS = 64

/** The peers of the one-id figure, each a node:http server on the same core (see bench/src/id/peer-server.ts). */
const PEERS = [
  { key: 'node_http', peer: 'node-http' },
  { key: 'node_http_routes', peer: 'node-http-routes' },
] as const

/**
 * The service on one core (taskset), a fixed worker id: the HTTP path alone, no lease store in the way. Then
 * the same one-id measurement against the node:http peers, in the same run.
 */
async function measureService(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  log: (line: string) => void,
): Promise<void> {
  const cpus = options.serverCpus ?? '1'
  // The senders go on the other core of a 2-core machine; elsewhere they are left to the scheduler.
  const senderCpus = cpus === '1' ? '0' : cpus === '0' ? '1' : undefined
  const show = (name: string, figures: SingleIdFigures): void =>
    log(
      `${name}: wrk ${figures.rps} req/s (server cpu ${figures.server_cpu}), our closed loop ` +
        `${figures.closed_loop_rps} req/s; open loop at ${figures.open.offered_rps} req/s: p99 ` +
        `${figures.open.latency.p99_ms} ms (send lag p99 ${figures.open.send_lag.p99_ms} ms, service time p99 ` +
        `${figures.open.service_time.p99_ms} ms, sender cpu ${figures.open.sender_cpu})`,
    )
  {
    await using server = await spawnServer(
      { entry: SERVICE_ENTRY, env: { HF_ID_PORT: '0', HF_LOG_LEVEL: 'silent', HF_WORKER_ID: '2' }, cpus },
      signal,
    )
    const single = await measureSingle(server, options, senderCpus, signal, true)
    show('service, one id per request', single)
    metrics['service_single_rps'] = single.rps
    metrics['service_single_rps_closed_loop'] = single.closed_loop_rps
    metrics['service_single_wrk_p99_ms'] = single.wrk_p99_ms
    metrics['service_single_server_cpu'] = single.server_cpu
    metrics['service_single_p99_ms'] = single.open.latency.p99_ms
    metrics['service_single_p50_ms'] = single.open.latency.p50_ms
    metrics['service_single_p999_ms'] = single.open.latency.p999_ms
    metrics['service_single_p99_at_rps'] = single.open.offered_rps
    metrics['service_single_arrival'] = options.arrival
    metrics['service_single_send_lag_p99_ms'] = single.open.send_lag.p99_ms
    metrics['service_single_service_time_p99_ms'] = single.open.service_time.p99_ms
    metrics['service_single_sender_cpu'] = single.open.sender_cpu
    metrics['service_single_error_rate'] =
      single.open.scheduled === 0 ? 0 : Math.round((single.open.errors / single.open.scheduled) * 1e6) / 1e6
    if (single.openAtHalf) {
      const half = single.openAtHalf
      metrics['service_single_half_rps'] = half.offered_rps
      metrics['service_single_half_p99_ms'] = half.latency.p99_ms
      metrics['service_single_half_send_lag_p99_ms'] = half.send_lag.p99_ms
      metrics['service_single_half_service_time_p99_ms'] = half.service_time.p99_ms
      log(
        `service at half its ceiling (${half.offered_rps} req/s): p99 ${half.latency.p99_ms} ms (send lag p99 ` +
          `${half.send_lag.p99_ms} ms, service time p99 ${half.service_time.p99_ms} ms, sender cpu ${half.sender_cpu})`,
      )
    }

    const url = new URL(server.baseUrl)
    const batches = await runPinnedRawLoad(
      {
        host: url.hostname,
        port: Number(url.port),
        path: '/ids?count=1000',
        mode: 'closed',
        connections: 8,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        drainMs: options.drainMs,
        seed: options.seed,
      },
      senderCpus,
      signal,
    )
    metrics['service_batch_ids_per_s'] = batches.achieved_rps * 1000
    log(`service, batches of 1000: ${metrics['service_batch_ids_per_s']} ids/s`)
    metrics['service_cpus'] = cpus
    metrics['sender_cpus'] = senderCpus ?? null
  }
  for (const { key, peer } of PEERS) {
    await using server = await spawnServer({ entry: PEER_ENTRY, env: { HF_PEER: peer }, cpus }, signal)
    const figures = await measureSingle(server, options, senderCpus, signal)
    show(`peer ${peer}`, figures)
    metrics[`peer_${key}_single_rps`] = figures.rps
    metrics[`peer_${key}_single_rps_closed_loop`] = figures.closed_loop_rps
    metrics[`peer_${key}_single_server_cpu`] = figures.server_cpu
    metrics[`peer_${key}_single_p99_ms`] = figures.open.latency.p99_ms
    metrics[`peer_${key}_single_p99_at_rps`] = figures.open.offered_rps
    metrics[`peer_${key}_single_send_lag_p99_ms`] = figures.open.send_lag.p99_ms
    metrics[`peer_${key}_single_service_time_p99_ms`] = figures.open.service_time.p99_ms
  }
}

/** 8 processes, 10^7 ids (smoke: 4·10^5), worker ids leased from PostgreSQL when it answers. */
async function measureProperty(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  notes: string[],
  log: (line: string) => void,
): Promise<void> {
  const total = options.smoke ? 400_000 : 10_000_000
  const leased = await postgresReachable(options.postgresUrl)
  if (leased) await recreateDatabase(options.postgresUrl, PROPERTY_DATABASE, signal)
  else notes.push('PostgreSQL not reachable: the property run used fixed worker ids 0..7 instead of leases')
  try {
    const outcome = await runProperty(
      {
        processes: 8,
        total,
        ...(leased ? { leaseDbUrl: databaseUrl(options.postgresUrl, PROPERTY_DATABASE) } : {}),
      },
      signal,
    )
    metrics['property_processes'] = outcome.processes
    metrics['property_ids'] = outcome.ids
    metrics['property_duplicates'] = outcome.duplicates
    metrics['property_worker_ids'] = outcome.distinctWorkerIds
    metrics['property_lease_store'] = leased ? 'postgres' : 'fixed'
    log(`property: ${outcome.ids} ids from ${outcome.processes} processes, ${outcome.duplicates} duplicates`)
  } finally {
    if (leased) await dropDatabase(options.postgresUrl, PROPERTY_DATABASE)
  }
}
