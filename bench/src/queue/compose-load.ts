import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { BenchError } from '../errors.js'
import { type ArrivalProcess, interArrival } from '../loadgen/arrivals.js'
import { ownCpuSeconds, processCpuSeconds } from '../loadgen/cpu.js'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from '../loadgen/histogram.js'
import type { RequestSpec } from '../loadgen/request.js'
import { send } from '../loadgen/send.js'
import { createRandom, type Random } from '../random.js'

/** One open-loop run of composes whose response bodies the caller needs (the post id of each 202). */
export interface ComposeLoadOptions {
  baseUrl: string
  ratePerSecond: number
  /** Sent before the window and not recorded (0 for a burst from rest). */
  warmupMs: number
  durationMs: number
  /** How long after the last send to wait for responses; the rest count as `unfinished`. */
  drainMs: number
  arrival: ArrivalProcess
  connections: number
  timeoutMs: number
  maxInFlight: number
  seed: number
  /** The next compose request. */
  next: (random: Random) => RequestSpec
  /**
   * Open the sender's connections first with this many concurrent `GET /healthz`, so a burst from rest
   * measures acceptance rather than a storm of TCP handshakes. @default 0 (connect lazily)
   */
  preconnect?: number
  /** Called for each response of the window: `intended` send time, `at` arrival, both `performance.now()`. */
  onResponse?: (response: ComposeResponse) => void
  serverPid?: number
}

/** One answered compose of the window. */
export interface ComposeResponse {
  intended: number
  at: number
  /** HTTP status, or 0 for a client-side failure. */
  status: number
  /** The body of a 2xx answer. */
  body: string | undefined
}

/** What a compose run measured over its window. */
export interface ComposeLoadResult {
  offered_rps: number
  scheduled: number
  /** 2xx answers among the scheduled. */
  accepted: number
  achieved_rps: number
  /** Answers by status (`202`, `503`) or failure kind (`timeout`, `socket`, `unfinished`, `overflow`). */
  by_status: Record<string, number>
  /** From intended send time to the 2xx answer, open loop (a stalled server shows in the tail). */
  accept: LatencySummary
  /** The same over every answer, failures included. */
  all: LatencySummary
  schedule_lag_p99_ms: number
  sender_cpu: number
  server_cpu?: number
  /** Busy cores of the whole machine over the window (/proc/stat): everything else running shows here. */
  machine_cpu?: number
  /** `performance.now()` at the window's end (the last intended send time). */
  window_end: number
  window_s: number
}

/**
 * Sends composes open loop on a schedule fixed in advance (as `loadgen/open-loop.ts`) and hands every
 * answer of the window, body included, to `onResponse`.
 *
 * @example
 * const burst = await runComposeLoad({ ...shape, ratePerSecond: 2000, warmupMs: 0, durationMs: 5000,
 *   next: () => composeSpec }, signal)
 */
export async function runComposeLoad(
  options: ComposeLoadOptions,
  signal: AbortSignal,
): Promise<ComposeLoadResult> {
  if (!(options.ratePerSecond > 0)) {
    throw new BenchError('E_BENCH_OPTION', 'options.ratePerSecond must be a positive number', {
      context: { ratePerSecond: options.ratePerSecond },
    })
  }
  const pool = new Pool(options.baseUrl, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  })
  try {
    if (options.preconnect) await preconnect(pool, options.preconnect)
    return await schedule(options, pool, signal)
  } finally {
    await pool.destroy().catch(() => {})
  }
}

async function schedule(
  options: ComposeLoadOptions,
  pool: Pool,
  signal: AbortSignal,
): Promise<ComposeLoadResult> {
  const random = createRandom(options.seed)
  const gap = interArrival(options.arrival, options.ratePerSecond, random)
  const accept = createLatencyHistogram()
  const all = createLatencyHistogram()
  const lag = createLatencyHistogram()
  const byStatus: Record<string, number> = {}
  const pending = new Map<number, number>() // id → intended send time
  let sent = 0
  let inFlight = 0
  let scheduled = 0
  let accepted = 0
  let onIdle: (() => void) | undefined
  const count = (key: string) => {
    byStatus[key] = (byStatus[key] ?? 0) + 1
  }

  const start = performance.now() + 1
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  let next = start
  let cpuAtWindow = ownCpuSeconds()
  let serverCpuAtWindow = serverCpu(options.serverPid)
  let machineAtWindow = machineCpuSeconds()
  let windowOpened = options.warmupMs === 0

  const dispatch = (intended: number, spec: RequestSpec): void => {
    const measured = intended >= windowStart
    if (measured) {
      scheduled++
      recordLatencyMs(lag, performance.now() - intended)
    }
    if (inFlight >= options.maxInFlight) {
      if (measured) {
        count('overflow')
        recordLatencyMs(all, performance.now() - intended)
      }
      return
    }
    inFlight++
    const id = sent++
    if (measured) pending.set(id, intended)
    send(pool, { ...spec, page: true }, (error, status, body) => {
      inFlight--
      const at = performance.now()
      if (measured && pending.delete(id)) {
        recordLatencyMs(all, at - intended)
        if (error) count(errorKey(error))
        else {
          count(String(status))
          if (status >= 200 && status < 300) {
            accepted++
            recordLatencyMs(accept, at - intended)
          }
        }
        options.onResponse?.({ intended, at, status: error ? 0 : status, body: error ? undefined : body })
        if (pending.size === 0 && onIdle) onIdle()
      }
    })
  }

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (signal.aborted) {
        resolve()
        return
      }
      const now = performance.now()
      if (!windowOpened && now >= windowStart) {
        windowOpened = true
        cpuAtWindow = ownCpuSeconds()
        serverCpuAtWindow = serverCpu(options.serverPid)
        machineAtWindow = machineCpuSeconds()
      }
      while (next <= now && next < windowEnd) {
        dispatch(next, options.next(random))
        next += gap()
      }
      if (next >= windowEnd) {
        resolve()
        return
      }
      setTimeout(tick, Math.max(0, next - performance.now() - 0.5))
    }
    tick()
  })
  const sendingEnded = performance.now()
  const windowS = Math.max(0.001, (sendingEnded - windowStart) / 1000)
  const senderCpu = (ownCpuSeconds() - cpuAtWindow) / windowS
  const machineNow = machineCpuSeconds()
  const machine =
    machineNow === undefined || machineAtWindow === undefined
      ? undefined
      : (machineNow - machineAtWindow) / windowS
  const serverNow = serverCpu(options.serverPid)
  const server =
    serverNow === undefined || serverCpuAtWindow === undefined
      ? undefined
      : (serverNow - serverCpuAtWindow) / windowS

  if (pending.size > 0 && !signal.aborted) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, options.drainMs)
      signal.addEventListener('abort', done, { once: true })
      onIdle = done
    })
  }
  const deadline = performance.now()
  for (const intended of pending.values()) {
    count('unfinished')
    recordLatencyMs(all, deadline - intended)
  }
  pending.clear()
  if (signal.aborted) throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: signal.reason })

  const durationS = options.durationMs / 1000
  return {
    offered_rps: options.ratePerSecond,
    scheduled,
    accepted,
    achieved_rps: round(accepted / durationS, 1),
    by_status: byStatus,
    accept: summarizeLatency(accept),
    all: summarizeLatency(all),
    schedule_lag_p99_ms: summarizeLatency(lag).p99_ms,
    sender_cpu: round(senderCpu, 3),
    ...(server === undefined ? {} : { server_cpu: round(server, 3) }),
    ...(machine === undefined ? {} : { machine_cpu: round(machine, 3) }),
    window_end: windowEnd,
    window_s: durationS,
  }
}

async function preconnect(pool: Pool, connections: number): Promise<void> {
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const response = await pool.request({ method: 'GET', path: '/healthz' })
      await response.body.dump()
    }),
  )
}

function serverCpu(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : processCpuSeconds(pid)
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat minus idle and iowait). */
function machineCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return (total - idle) / 100
  } catch {
    return undefined
  }
}

/** The same short keys as the kit's open-loop sender. */
function errorKey(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 'error'
  if (code.includes('TIMEOUT')) return 'timeout'
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'socket'
  return code
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
