import { cpus as osCpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { DEFAULT_EPOCH, Snowflake } from '@hundredfold/id'
import { Snowflake as SapphireSnowflake } from '@sapphire/snowflake'
import { Snowflake as NodejsSnowflake } from 'nodejs-snowflake'
import { errorRate, medianOfWindows, type OpenWindows, windowP99s } from '../id/median-window.js'
import { runPinnedRawLoad, runPinnedWrk } from '../id/pinned-load.js'
import { cpuidleDriver, holdCpuDmaLatencyZero } from '../id/pm-qos.js'
import { runProperty } from '../id/property.js'
import type { RawLoadOptions, RawLoadResult } from '../id/raw-load.js'
import { type CoreStalls, coresOf, runStallProbe } from '../id/stall-probe.js'
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

  await measureMachineStalls(options, signal, metrics, log)
  await measureService(options, signal, metrics, notes, log)
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
  /** The open loop at {@link P99_RATE}: the window with the median p99 of {@link P99_WINDOWS}. */
  open: RawLoadResult
  /** Every window at {@link P99_RATE}, `open` among them. */
  openWindows: OpenWindows
  /** The open loop at half of `rps`, when asked for. */
  openAtHalf?: RawLoadResult
}

/**
 * One server on `cpus` (taskset), measured for one id per request: `wrk` and our closed loop for the
 * ceiling, then the open loop at {@link P99_RATE} ({@link P99_WINDOWS} windows, the median reported; and,
 * with `atHalf`, one window at half of wrk's rate) for p99. Both senders run pinned to the other core.
 */
async function measureSingle(
  target: { baseUrl: string; pid: number },
  options: Readonly<BenchOptions>,
  senderCpus: string | undefined,
  signal: AbortSignal,
  atHalf = false,
): Promise<SingleIdFigures> {
  const base = rawLoadBase(target, options)
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
  const openWindows = await openWindowsAtP99Rate(base, options, senderCpus, signal)
  const openAtHalf = atHalf
    ? await runPinnedRawLoad(
        {
          ...base,
          mode: 'open',
          connections: OPEN_LOOP_CONNECTIONS,
          ratePerSecond: Math.max(1, Math.round(wrk.rps / 2)),
          arrival: options.arrival,
        },
        senderCpus,
        signal,
      )
    : undefined
  return {
    rps: Math.round(wrk.rps),
    wrk_p99_ms: wrk.p99_ms,
    server_cpu: wrk.server_cpu,
    closed_loop_rps: closed.achieved_rps,
    open: openWindows.median,
    openWindows,
    ...(openAtHalf ? { openAtHalf } : {}),
  }
}

/** What every raw-sender run against `target` shares: one id per request, the run's windows and seed. */
function rawLoadBase(
  target: { baseUrl: string },
  options: Readonly<BenchOptions>,
): Pick<RawLoadOptions, 'host' | 'port' | 'path' | 'warmupMs' | 'durationMs' | 'drainMs' | 'seed'> {
  const url = new URL(target.baseUrl)
  return {
    host: url.hostname,
    port: Number(url.port),
    path: '/ids',
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    drainMs: options.drainMs,
    seed: options.seed,
  }
}

/**
 * {@link P99_WINDOWS} open-loop runs at {@link P99_RATE} in sequence (seeds `seed`, `seed + 1`, …), each its own
 * sender process with its own warm-up; the window with the median p99 is the one reported.
 */
function openWindowsAtP99Rate(
  base: ReturnType<typeof rawLoadBase>,
  options: Readonly<BenchOptions>,
  senderCpus: string | undefined,
  signal: AbortSignal,
): Promise<OpenWindows> {
  return medianOfWindows(
    (seed) =>
      runPinnedRawLoad(
        {
          ...base,
          seed,
          mode: 'open',
          connections: OPEN_LOOP_CONNECTIONS,
          ratePerSecond: P99_RATE,
          arrival: options.arrival,
        },
        senderCpus,
        signal,
      ),
    options.seed,
    P99_WINDOWS,
  )
}

/**
 * {@link openWindowsAtP99Rate} while holding `/dev/cpu_dma_latency` at 0 (see `holdCpuDmaLatencyZero`),
 * released before this returns, whatever happens; undefined, with the reason told to `why`, when it cannot be held.
 */
async function openWindowsLatencyTuned(
  target: { baseUrl: string },
  options: Readonly<BenchOptions>,
  senderCpus: string | undefined,
  signal: AbortSignal,
  why: (reason: string) => void,
): Promise<OpenWindows | undefined> {
  const hold = holdCpuDmaLatencyZero(why)
  if (!hold) return undefined
  try {
    return await openWindowsAtP99Rate(rawLoadBase(target, options), options, senderCpus, signal)
  } finally {
    hold.close()
  }
}

/**
 * The p99 floor's rate: half of the 30,000 req/s throughput floor, the same offered load for the service and
 * its peers. (Half of the service's own ceiling is measured too, but above ~40 k req/s a one-core Node sender
 * is itself late: see `service_single_half_send_lag_p99_ms`.)
 */
const P99_RATE = 15_000

/**
 * Open-loop windows at {@link P99_RATE} per server; the median p99 is reported. One window's p99 on this VM
 * swings with the host's vCPU stalls (0.64 to 1.78 ms between runs of the same server), see
 * `medianOfWindows`.
 */
const P99_WINDOWS = 3

/** Connections of the open loop: one request outstanding on each, enough that they rarely all wait. */
const OPEN_LOOP_CONNECTIONS = 64

/** The peers of the one-id figure, each a node:http server on the same core (see bench/src/id/peer-server.ts). */
const PEERS = [
  { key: 'node_http', peer: 'node-http' },
  { key: 'node_http_routes', peer: 'node-http-routes' },
] as const

/** The server's cores (`--server-cpus`, default core 1) and the senders' (the other core of a 2-core machine). */
function placement(options: Readonly<BenchOptions>): { cpus: string; senderCpus: string | undefined } {
  const cpus = options.serverCpus ?? '1'
  // The senders go on the other core of a 2-core machine; elsewhere they are left to the scheduler.
  const senderCpus = cpus === '1' ? '0' : cpus === '0' ? '1' : undefined
  return { cpus, senderCpus }
}

/**
 * The VM's own stalls, once, before the service is measured: a spin loop on each core at once (cores 0 and 1
 * of a 2-core machine, else the server's and the senders' cores). A p99 of a millisecond is only as good as
 * the cores under it, and on a VM the host takes a vCPU away for milliseconds now and then (see
 * `runStallProbe`); these figures say how much, on the day.
 */
async function measureMachineStalls(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  log: (line: string) => void,
): Promise<void> {
  const { cpus, senderCpus } = placement(options)
  const cores =
    osCpus().length === 2
      ? ['0', '1']
      : [...new Set([...coresOf(cpus), ...(senderCpus === undefined ? [] : coresOf(senderCpus))])]
  const durationMs = options.smoke ? 1000 : 3000
  const stalls = await runStallProbe({ cores, durationMs }, signal)
  for (const core of stalls) {
    const suffix = `_core${core.core.replace(/[^0-9A-Za-z]+/g, '_')}`
    metrics[`machine_stall_fraction_over_0_5ms${suffix}`] = core.stall_fraction_over_0_5ms
    metrics[`machine_stalls_over_1ms_per_s${suffix}`] = core.stalls_over_1ms_per_s
    metrics[`machine_stall_max_ms${suffix}`] = core.stall_max_ms
    metrics[`machine_gap_fraction_over_50us${suffix}`] = core.gap_fraction_over_50us
  }
  metrics['machine_stall_probe_ms'] = durationMs
  const idle = cpuidleDriver()
  metrics['machine_cpuidle_driver'] = idle?.driver ?? null
  const percent = (share: number): string => `${Number((share * 100).toPrecision(3))}%`
  const describe = (core: CoreStalls): string =>
    `core ${core.core}: ${percent(core.stall_fraction_over_0_5ms)} of wall time in gaps > 0.5 ms, ` +
    `${core.stalls_over_1ms_per_s} gaps > 1 ms/s, max ${core.stall_max_ms} ms, ` +
    `${percent(core.gap_fraction_over_50us)} in gaps > 50 µs`
  log(
    `vCPU stall probe (${durationMs / 1000} s spin per core, in parallel): ${stalls.map(describe).join('; ')}`,
  )
}

/**
 * The service on one core (taskset), a fixed worker id: the HTTP path alone, no lease store in the way. Then
 * the same one-id measurement against the node:http peers, in the same run. For the service and the node-http
 * peer, after their own untuned figures, the open loop once more while holding `/dev/cpu_dma_latency` at 0.
 */
async function measureService(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  notes: string[],
  log: (line: string) => void,
): Promise<void> {
  const { cpus, senderCpus } = placement(options)
  const show = (name: string, figures: SingleIdFigures): void =>
    log(
      `${name}: wrk ${figures.rps} req/s (server cpu ${figures.server_cpu}), our closed loop ` +
        `${figures.closed_loop_rps} req/s; open loop at ${figures.open.offered_rps} req/s: p99 ` +
        `${figures.open.latency.p99_ms} ms, median of ${P99_WINDOWS} windows (${windowP99s(figures.openWindows)} ` +
        `ms); send lag p99 ${figures.open.send_lag.p99_ms} ms, service time p99 ` +
        `${figures.open.service_time.p99_ms} ms, sender cpu ${figures.open.sender_cpu}`,
    )
  let unavailable: string | undefined
  let held = false
  /** The cpu_dma_latency = 0 windows of one server, recorded under `<prefix>_single_*_cpu_dma_latency_0`. */
  const latencyTuned = async (name: string, target: { baseUrl: string }, prefix: string): Promise<void> => {
    const tuned = await openWindowsLatencyTuned(target, options, senderCpus, signal, (reason) => {
      unavailable = reason
    })
    metrics[`${prefix}_single_p99_ms_cpu_dma_latency_0`] = tuned?.median.latency.p99_ms ?? null
    metrics[`${prefix}_single_p50_ms_cpu_dma_latency_0`] = tuned?.median.latency.p50_ms ?? null
    metrics[`${prefix}_single_p99_ms_cpu_dma_latency_0_windows`] = tuned ? windowP99s(tuned) : null
    if (!tuned) return
    held = true
    log(
      `${name}, holding /dev/cpu_dma_latency = 0: open loop at ${P99_RATE} req/s: p99 ` +
        `${tuned.median.latency.p99_ms} ms, median of ${P99_WINDOWS} windows (${windowP99s(tuned)} ms); p50 ` +
        `${tuned.median.latency.p50_ms} ms, send lag p99 ${tuned.median.send_lag.p99_ms} ms, service time p99 ` +
        `${tuned.median.service_time.p99_ms} ms`,
    )
  }
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
    metrics['service_single_p99_ms_windows'] = windowP99s(single.openWindows)
    metrics['service_single_p50_ms'] = single.open.latency.p50_ms
    metrics['service_single_p999_ms'] = single.open.latency.p999_ms
    metrics['service_single_p99_at_rps'] = single.open.offered_rps
    metrics['service_single_arrival'] = options.arrival
    metrics['service_single_send_lag_p99_ms'] = single.open.send_lag.p99_ms
    metrics['service_single_service_time_p99_ms'] = single.open.service_time.p99_ms
    metrics['service_single_sender_cpu'] = single.open.sender_cpu
    metrics['service_single_error_rate'] = errorRate(single.openWindows)
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

    await latencyTuned('service, one id per request', server, 'service')
  }
  for (const { key, peer } of PEERS) {
    await using server = await spawnServer({ entry: PEER_ENTRY, env: { HF_PEER: peer }, cpus }, signal)
    const figures = await measureSingle(server, options, senderCpus, signal)
    show(`peer ${peer}`, figures)
    metrics[`peer_${key}_single_rps`] = figures.rps
    metrics[`peer_${key}_single_rps_closed_loop`] = figures.closed_loop_rps
    metrics[`peer_${key}_single_server_cpu`] = figures.server_cpu
    metrics[`peer_${key}_single_p99_ms`] = figures.open.latency.p99_ms
    metrics[`peer_${key}_single_p99_ms_windows`] = windowP99s(figures.openWindows)
    metrics[`peer_${key}_single_p99_at_rps`] = figures.open.offered_rps
    metrics[`peer_${key}_single_send_lag_p99_ms`] = figures.open.send_lag.p99_ms
    metrics[`peer_${key}_single_service_time_p99_ms`] = figures.open.service_time.p99_ms
    if (key === LATENCY_TUNED_PEER) await latencyTuned(`peer ${peer}`, server, `peer_${key}`)
  }
  if (held) notes.push(cpuDmaLatencyNote())
  else if (unavailable !== undefined) {
    notes.push(
      `The *_cpu_dma_latency_0 figures are null: /dev/cpu_dma_latency could not be held (${unavailable}); ` +
        'it needs root on Linux.',
    )
  }
}

/** The peer measured a second time with `/dev/cpu_dma_latency` held at 0, beside the service. */
const LATENCY_TUNED_PEER = 'node_http'

/** What the `*_cpu_dma_latency_0` figures are, in the results, so nobody takes them for the default. */
function cpuDmaLatencyNote(): string {
  const idle = cpuidleDriver()
  const wakeUp =
    idle?.driver === 'haltpoll'
      ? "This guest's cpuidle driver is haltpoll: with the request its governor picks the POLL state, so an " +
        'idle vCPU spins in the guest instead of halting and exiting to the host, and a request no longer ' +
        'waits for the host to wake the vCPU of the server or the sender.'
      : `The cpuidle driver here is ${idle?.driver ?? 'unknown'}: with the request its governor keeps idle ` +
        'CPUs polling instead of entering deeper idle states, so a request does not wait for a CPU to wake up.'
  return (
    'The *_cpu_dma_latency_0 figures (service and peer node-http only) are NOT the default configuration: ' +
    `the same ${P99_WINDOWS} open-loop windows at ${P99_RATE} req/s, measured while the suite held ` +
    '/dev/cpu_dma_latency open with the 32-bit value 0 written to it, a PM-QoS request for 0 µs CPU wake-up ' +
    `latency (what tuned's latency-performance profile makes). ${wakeUp} They show how much of the latency ` +
    "is the VM's idle wake-up, not the service. The request was withdrawn (descriptor closed) right after " +
    'those windows; every other figure, service_single_p99_ms included, was measured without it.'
  )
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
