import { fileURLToPath } from 'node:url'
import { runPinnedRawLoad, runPinnedWrk } from '../../loadgen/pinned-load.js'
import type { RawLoadOptions, RawLoadResult } from '../../loadgen/raw-load.js'
import type { BenchOptions } from '../../options.js'
import type { MetricValue } from '../../results.js'
import { type SpawnedServer, spawnServer } from '../../target/spawn-server.js'
import { errorRate, interleavedWindows, type OpenWindows, windowP99s } from './median-window.js'

const SERVICE_ENTRY = fileURLToPath(new URL('../../../../packages/id-service/dist/main.js', import.meta.url))
const HELLO_ENTRY = fileURLToPath(new URL('./hello-world.js', import.meta.url))

/**
 * The rate of the p99 figures, the same offered load for the service and the hello-world: well under what
 * one core of this VM serves with node:http (~50 k req/s), and under the ~40 k req/s above which a one-core
 * Node sender is itself late (see `service_single_half_send_lag_p99_ms`).
 */
export const P99_RATE = 15_000

/** Open-loop windows at {@link P99_RATE} per server, taken in turn; the median p99 is reported. */
export const P99_WINDOWS = 3

/** Connections of the open loop: one request outstanding on each, enough that they rarely all wait. */
const OPEN_LOOP_CONNECTIONS = 64

/** The servers measured, under the key their metrics carry. */
const SERVERS = ['service_single', 'peer_node_http_single'] as const
type ServerKey = (typeof SERVERS)[number]

/** The closed-loop ceiling of one server: `wrk` and our raw sender on the same connections. */
interface Ceiling {
  wrk: Awaited<ReturnType<typeof runPinnedWrk>>
  closed: RawLoadResult
}

/**
 * The ID service (one core, fixed worker id: the HTTP path alone, no lease store in the way) beside a bare
 * node:http hello-world on the same core, in the same run: one id per request under `wrk` and our closed
 * loop, then {@link P99_WINDOWS} open-loop windows at {@link P99_RATE} taken in turn. What is reported is
 * each figure and the service's over the hello-world's (`service_to_node_http_*`), since on this VM the
 * absolute figures move by a third between runs and the ratio much less. Then the service alone at half its
 * ceiling and in batches of 1000.
 */
export async function measureService(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  log: (line: string) => void,
): Promise<void> {
  const { cpus, senderCpus } = placement(options)
  await using service = await spawnServer(
    { entry: SERVICE_ENTRY, env: { HF_ID_PORT: '0', HF_LOG_LEVEL: 'silent', HF_WORKER_ID: '2' }, cpus },
    signal,
  )
  await using hello = await spawnServer({ entry: HELLO_ENTRY, env: { HF_PORT: '0' }, cpus }, signal)
  const servers: Record<ServerKey, SpawnedServer> = { service_single: service, peer_node_http_single: hello }

  const ceilings = {} as Record<ServerKey, Ceiling>
  for (const key of SERVERS) ceilings[key] = await measureCeiling(servers[key], options, senderCpus, signal)
  const open = await interleavedWindows(
    SERVERS,
    (key, seed) =>
      runPinnedRawLoad(
        {
          ...rawLoadBase(servers[key], options),
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
  for (const key of SERVERS) {
    record(metrics, key, ceilings[key], open[key])
    log(summary(key, ceilings[key], open[key]))
  }
  metrics['service_single_arrival'] = options.arrival
  const ratio = (figure: (key: ServerKey) => number): number =>
    Math.round((figure('service_single') / figure('peer_node_http_single')) * 1000) / 1000
  metrics['service_to_node_http_rps'] = ratio((key) => ceilings[key].wrk.rps)
  metrics['service_to_node_http_p99'] = ratio((key) => open[key].median.latency.p99_ms)
  log(
    `service / node:http hello-world, same core, same run: ${metrics['service_to_node_http_rps']} of its ` +
      `req/s, ${metrics['service_to_node_http_p99']} × its p99 at ${P99_RATE} req/s`,
  )

  const half = await runPinnedRawLoad(
    {
      ...rawLoadBase(service, options),
      mode: 'open',
      connections: OPEN_LOOP_CONNECTIONS,
      ratePerSecond: Math.max(1, Math.round(ceilings.service_single.wrk.rps / 2)),
      arrival: options.arrival,
    },
    senderCpus,
    signal,
  )
  metrics['service_single_half_rps'] = half.offered_rps
  metrics['service_single_half_p99_ms'] = half.latency.p99_ms
  metrics['service_single_half_send_lag_p99_ms'] = half.send_lag.p99_ms
  metrics['service_single_half_service_time_p99_ms'] = half.service_time.p99_ms
  log(
    `service at half its ceiling (${half.offered_rps} req/s): p99 ${half.latency.p99_ms} ms (send lag p99 ` +
      `${half.send_lag.p99_ms} ms, service time p99 ${half.service_time.p99_ms} ms, sender cpu ${half.sender_cpu})`,
  )

  const batches = await runPinnedRawLoad(
    { ...rawLoadBase(service, options), path: '/ids?count=1000', mode: 'closed', connections: 8 },
    senderCpus,
    signal,
  )
  metrics['service_batch_ids_per_s'] = batches.achieved_rps * 1000
  log(`service, batches of 1000: ${metrics['service_batch_ids_per_s']} ids/s`)
  metrics['service_cpus'] = cpus
  metrics['sender_cpus'] = senderCpus ?? null
}

/** `wrk` then our closed loop, one id per request, both on the senders' core. */
async function measureCeiling(
  server: SpawnedServer,
  options: Readonly<BenchOptions>,
  senderCpus: string | undefined,
  signal: AbortSignal,
): Promise<Ceiling> {
  const durationS = Math.max(1, Math.round((options.warmupMs + options.durationMs) / 1000))
  const wrk = await runPinnedWrk(
    {
      url: `${server.baseUrl}/ids`,
      connections: options.closedConnections,
      durationS,
      cpus: senderCpus,
      serverPid: server.pid,
    },
    signal,
  )
  const closed = await runPinnedRawLoad(
    { ...rawLoadBase(server, options), mode: 'closed', connections: options.closedConnections },
    senderCpus,
    signal,
  )
  return { wrk, closed }
}

/** One server's figures under `<key>_*` (`service_single_rps`, `peer_node_http_single_p99_ms`, …). */
function record(
  metrics: Record<string, MetricValue>,
  key: ServerKey,
  { wrk, closed }: Ceiling,
  open: OpenWindows,
): void {
  const { latency, send_lag, service_time, offered_rps, sender_cpu } = open.median
  Object.assign(metrics, {
    [`${key}_rps`]: Math.round(wrk.rps),
    [`${key}_rps_closed_loop`]: closed.achieved_rps,
    [`${key}_wrk_p99_ms`]: wrk.p99_ms,
    [`${key}_server_cpu`]: wrk.server_cpu,
    [`${key}_p99_ms`]: latency.p99_ms,
    [`${key}_p99_ms_windows`]: windowP99s(open),
    [`${key}_p50_ms`]: latency.p50_ms,
    [`${key}_p999_ms`]: latency.p999_ms,
    [`${key}_p99_at_rps`]: offered_rps,
    [`${key}_send_lag_p99_ms`]: send_lag.p99_ms,
    [`${key}_service_time_p99_ms`]: service_time.p99_ms,
    [`${key}_sender_cpu`]: sender_cpu,
    [`${key}_error_rate`]: errorRate(open),
  })
}

function summary(key: ServerKey, { wrk, closed }: Ceiling, open: OpenWindows): string {
  const { latency, send_lag, service_time, offered_rps, sender_cpu } = open.median
  const name = key === 'service_single' ? 'service, one id per request' : 'node:http hello-world'
  return (
    `${name}: wrk ${Math.round(wrk.rps)} req/s (server cpu ${wrk.server_cpu}), our closed loop ` +
    `${closed.achieved_rps} req/s; open loop at ${offered_rps} req/s: p99 ${latency.p99_ms} ms, median of ` +
    `${P99_WINDOWS} windows (${windowP99s(open)} ms); send lag p99 ${send_lag.p99_ms} ms, service time p99 ` +
    `${service_time.p99_ms} ms, sender cpu ${sender_cpu}`
  )
}

/** What every raw-sender run against `server` shares: one id per request, the run's windows and seed. */
function rawLoadBase(
  server: { baseUrl: string },
  options: Readonly<BenchOptions>,
): Pick<RawLoadOptions, 'host' | 'port' | 'path' | 'warmupMs' | 'durationMs' | 'drainMs' | 'seed'> {
  const url = new URL(server.baseUrl)
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

/** The servers' cores (`--server-cpus`, default core 1) and the senders' (the other core of a 2-core machine). */
function placement(options: Readonly<BenchOptions>): { cpus: string; senderCpus: string | undefined } {
  const cpus = options.serverCpus ?? '1'
  const senderCpus = cpus === '1' ? '0' : cpus === '0' ? '1' : undefined
  return { cpus, senderCpus }
}
