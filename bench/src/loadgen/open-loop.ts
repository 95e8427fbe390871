import { performance } from 'node:perf_hooks'
import type { Histogram } from 'hdr-histogram-js'
import type { Pool } from 'undici'
import { BenchError } from '../errors.js'
import { machineCpuSeconds, ownCpuSeconds, processCpuSeconds } from '../machine/cpu.js'
import type { WindowHooks } from '../machine/process-sampler.js'
import { createRandom } from '../random.js'
import { type ArrivalProcess, interArrival } from './arrivals.js'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from './histogram.js'
import { isEmptyPage, type RequestSource, type RequestSpec } from './request.js'
import { send } from './send.js'
import { openSenderPool } from './sender-pool.js'

/** Options of one open-loop step: one offered rate for a warm-up and a measurement window. */
export interface OpenLoopOptions {
  /** Origin of the server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string
  /** Offered rate in requests per second. */
  ratePerSecond: number
  /** Load sent before the measurement window; not recorded. */
  warmupMs: number
  /** The measurement window: requests whose intended send time falls in it are recorded. */
  durationMs: number
  arrival: ArrivalProcess
  /** Keep-alive connections the sender may open; beyond them requests wait in the client (and that wait counts). */
  connections: number
  /** A request without response headers or body progress for this long fails as `timeout`. */
  timeoutMs: number
  /** How long after the window to wait for measured requests still in flight; the rest count as `unfinished`. */
  drainMs: number
  /** Requests in flight beyond this are not sent and count as `overflow`, so a dead server cannot exhaust memory. */
  maxInFlight: number
  seed: number
  source: RequestSource
  /** The server's pid, to report its CPU use over the window (Linux /proc). */
  serverPid?: number
  /**
   * Open this many connections first (concurrent `GET /healthz`), so a burst from rest measures the server
   * rather than a storm of TCP handshakes. @default 0 (connect lazily)
   */
  preconnect?: number
  /** Called (synchronously) when the measurement window opens and when its sending ends: the process sampler. */
  window?: WindowHooks
  /** Called for every answered request of the window (the body when its spec asked for it: `page`). */
  onResponse?: (response: OpenLoopResponse) => void
}

/** One answered request of the measurement window. */
export interface OpenLoopResponse {
  /** `performance.now()` of its intended send time and of its answer. */
  intended: number
  at: number
  /** HTTP status, or 0 for a client-side failure. */
  status: number
  /** The status (`'202'`) or the failure's key (`'timeout'`, `'socket'`, …), as in `errors_by_status`. */
  outcome: string
  /** The body of a 2xx answer to a `page` spec. */
  body: string | undefined
}

/** Per-endpoint outcome of a step. */
export interface EndpointResult extends LatencySummary {
  ok: number
  errors: number
  pages: number
  empty_pages: number
}

/** The outcome of one step at one offered rate. */
export interface StepResult {
  offered_rps: number
  /** Requests whose intended send time fell in the measurement window. */
  scheduled: number
  /** Successful (2xx/3xx) responses among the scheduled, per second of window. */
  achieved_rps: number
  /** Successful responses / scheduled; Poisson noise in the offered count cancels out. */
  completion_ratio: number
  error_rate: number
  /** Failures by HTTP status (`500`) or by kind (`timeout`, `unfinished`, `overflow`, `ECONNREFUSED`). */
  errors_by_status: Record<string, number>
  latency: LatencySummary
  endpoints: Record<string, EndpointResult>
  pages: number
  empty_pages: number
  /** Sender CPU use over the window, in cores (1 = one core fully busy). */
  sender_cpu: number
  /** Server process CPU use over the window, in cores; absent when unknown. */
  server_cpu?: number
  /** Busy cores of the whole machine over the window (/proc/stat): everything else running shows here. */
  machine_cpu?: number
  /**
   * HTTP responses (any status, warm-up requests included) received between the window's opening and the
   * end of its sending: the span `sender_cpu`, `server_cpu` and the `window` hooks cover.
   */
  window_responses: number
  /** p99 of how late the sender dispatched requests against their intended time, in ms. */
  schedule_lag_p99_ms: number
  /** `performance.now()` at the window's end (the last intended send time). */
  window_end: number
  window_s: number
}

interface EndpointAccumulator {
  histogram: Histogram
  ok: number
  errors: number
  pages: number
  emptyPages: number
}

interface Pending {
  intended: number
  endpoint: EndpointAccumulator
}

/**
 * Sends requests open-loop: send times follow a schedule fixed in advance, never the server's pace, and each
 * latency is measured from the request's intended send time, so a stalled server shows up in the tail
 * instead of being hidden (coordinated omission).
 *
 * @example
 * const step = await runOpenLoop({ ...defaults, baseUrl, ratePerSecond: 500, source: () => ({
 *   endpoint: 'ceiling', method: 'GET', path: '/ceiling' }) }, signal)
 * console.log(step.latency.p99_ms)
 */
export async function runOpenLoop(options: OpenLoopOptions, signal: AbortSignal): Promise<StepResult> {
  if (!(options.ratePerSecond > 0)) {
    throw new BenchError('E_BENCH_OPTION', 'options.ratePerSecond must be a positive number', {
      context: { ratePerSecond: options.ratePerSecond },
    })
  }
  const pool = openSenderPool(options)
  const stop = new AbortController()
  const onAbort = (): void => stop.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    if (options.preconnect) await preconnect(pool, options.preconnect)
    return await sendSchedule(options, pool, stop.signal)
  } finally {
    signal.removeEventListener('abort', onAbort)
    stop.abort()
    await pool.destroy().catch(() => {})
  }
}

async function sendSchedule(options: OpenLoopOptions, pool: Pool, stop: AbortSignal): Promise<StepResult> {
  const random = createRandom(options.seed)
  const gap = interArrival(options.arrival, options.ratePerSecond, random)
  const overall = createLatencyHistogram()
  const lag = createLatencyHistogram()
  const endpoints = new Map<string, EndpointAccumulator>()
  const errorsByStatus: Record<string, number> = {}
  const pending = new Set<Pending>()
  let inFlight = 0
  let scheduled = 0
  let ok = 0
  let failed = 0
  let onIdle: (() => void) | undefined

  const start = performance.now() + 1
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  let next = start
  let cpuAtWindow = 0
  let serverCpuAtWindow: number | undefined
  let machineAtWindow: number | undefined
  let windowOpened = false
  let windowClosed = false
  let windowResponses = 0

  const endpointOf = (name: string): EndpointAccumulator => {
    let found = endpoints.get(name)
    if (!found) {
      found = { histogram: createLatencyHistogram(), ok: 0, errors: 0, pages: 0, emptyPages: 0 }
      endpoints.set(name, found)
    }
    return found
  }
  const fail = (record: Pending, key: string, at: number): void => {
    errorsByStatus[key] = (errorsByStatus[key] ?? 0) + 1
    failed++
    record.endpoint.errors++
    recordLatencyMs(overall, at - record.intended)
    recordLatencyMs(record.endpoint.histogram, at - record.intended)
  }
  const settle = (record: Pending | undefined): void => {
    inFlight--
    if (record) pending.delete(record)
    if (pending.size === 0 && onIdle) onIdle()
  }

  const dispatch = (intended: number, spec: RequestSpec): void => {
    const measured = intended >= windowStart
    const record: Pending | undefined = measured
      ? { intended, endpoint: endpointOf(spec.endpoint) }
      : undefined
    if (record) {
      scheduled++
      recordLatencyMs(lag, performance.now() - intended)
    }
    if (inFlight >= options.maxInFlight) {
      if (record) fail(record, 'overflow', performance.now())
      return
    }
    inFlight++
    if (record) pending.add(record)
    send(pool, spec, (error, status, text) => {
      const now = performance.now()
      if (!error && windowOpened && !windowClosed) windowResponses++
      if (record && pending.has(record)) {
        options.onResponse?.({
          intended,
          at: now,
          status,
          outcome: error ? errorKey(error) : String(status),
          body: text,
        })
        if (error) fail(record, errorKey(error), now)
        else if (status < 200 || status >= 400) fail(record, String(status), now)
        else {
          ok++
          record.endpoint.ok++
          recordLatencyMs(overall, now - record.intended)
          recordLatencyMs(record.endpoint.histogram, now - record.intended)
          if (text !== undefined) {
            record.endpoint.pages++
            if (isEmptyPage(text)) record.endpoint.emptyPages++
          }
        }
      }
      settle(record)
    })
  }

  // The schedule: wake at most once per timer tick and send everything that is due, late ones first.
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (stop.aborted) {
        resolve()
        return
      }
      const now = performance.now()
      if (!windowOpened && now >= windowStart) {
        windowOpened = true
        cpuAtWindow = ownCpuSeconds()
        machineAtWindow = machineCpuSeconds()
        if (options.serverPid !== undefined) serverCpuAtWindow = processCpuSeconds(options.serverPid)
        options.window?.opened()
      }
      while (next <= now && next < windowEnd) {
        dispatch(next, options.source(random))
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
  windowClosed = true
  if (windowOpened) options.window?.closed()
  const senderCpu = (ownCpuSeconds() - cpuAtWindow) / ((sendingEnded - windowStart) / 1000)
  const serverCpuNow = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid)
  const serverCpu =
    serverCpuNow === undefined || serverCpuAtWindow === undefined
      ? undefined
      : (serverCpuNow - serverCpuAtWindow) / ((sendingEnded - windowStart) / 1000)
  const machineNow = machineCpuSeconds()
  const machineCpu =
    machineNow === undefined || machineAtWindow === undefined
      ? undefined
      : (machineNow - machineAtWindow) / ((sendingEnded - windowStart) / 1000)

  // Drain: measured requests still in flight get until the deadline; the rest count as unfinished.
  if (pending.size > 0 && !stop.aborted) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        stop.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, options.drainMs)
      stop.addEventListener('abort', done, { once: true })
      onIdle = done
    })
  }
  const deadline = performance.now()
  for (const record of pending) fail(record, 'unfinished', deadline)
  pending.clear()
  if (stop.aborted) throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: stop.reason })

  const windowS = options.durationMs / 1000
  const endpointResults: Record<string, EndpointResult> = {}
  let pages = 0
  let emptyPages = 0
  for (const [name, acc] of [...endpoints].sort(([a], [b]) => a.localeCompare(b))) {
    endpointResults[name] = {
      ...summarizeLatency(acc.histogram),
      ok: acc.ok,
      errors: acc.errors,
      pages: acc.pages,
      empty_pages: acc.emptyPages,
    }
    pages += acc.pages
    emptyPages += acc.emptyPages
  }
  return {
    offered_rps: options.ratePerSecond,
    scheduled,
    achieved_rps: ok / windowS,
    completion_ratio: scheduled === 0 ? 0 : ok / scheduled,
    error_rate: scheduled === 0 ? 0 : failed / scheduled,
    errors_by_status: errorsByStatus,
    latency: summarizeLatency(overall),
    endpoints: endpointResults,
    pages,
    empty_pages: emptyPages,
    sender_cpu: round3(senderCpu),
    ...(serverCpu === undefined ? {} : { server_cpu: round3(serverCpu) }),
    ...(machineCpu === undefined ? {} : { machine_cpu: round3(machineCpu) }),
    window_responses: windowResponses,
    schedule_lag_p99_ms: summarizeLatency(lag).p99_ms,
    window_end: windowEnd,
    window_s: windowS,
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

/** Maps a client-side failure to a short, stable key. */
function errorKey(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 'error'
  if (code.includes('TIMEOUT')) return 'timeout'
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'socket'
  return code
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000
