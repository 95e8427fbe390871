import { performance } from 'node:perf_hooks'
import { BenchError } from '../errors.js'
import { ownCpuSeconds, processCpuSeconds } from '../machine/cpu.js'
import { createRandom } from '../random.js'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from './histogram.js'
import type { RequestSource } from './request.js'
import { send } from './send.js'
import { openSenderPool } from './sender-pool.js'

/** Options of a closed-loop run: `connections` clients, each sending its next request on the last response. */
export interface ClosedLoopOptions {
  baseUrl: string
  connections: number
  warmupMs: number
  durationMs: number
  timeoutMs: number
  seed: number
  source: RequestSource
  serverPid?: number
}

/** The outcome of a closed-loop run. */
export interface ClosedLoopResult {
  /** Responses completed in the measurement window, per second. */
  rps: number
  errors: number
  /** Service time (from actual send), as `wrk` reports it. */
  latency: LatencySummary
  sender_cpu: number
  server_cpu?: number
}

/**
 * Measures the highest throughput `connections` back-to-back clients reach — the closed-loop ceiling that
 * `wrk` measures too, so the two can be compared to show that the sender is not the bottleneck.
 *
 * @example
 * const { rps } = await runClosedLoop({ baseUrl, connections: 50, warmupMs: 1000, durationMs: 5000,
 *   timeoutMs: 10_000, seed: 1, source: () => ({ endpoint: 'ceiling', method: 'GET', path: '/ceiling' }) }, signal)
 */
export async function runClosedLoop(
  options: ClosedLoopOptions,
  signal: AbortSignal,
): Promise<ClosedLoopResult> {
  const pool = openSenderPool(options)
  const stop = new AbortController()
  // Destroying the pool fails the requests in flight, so every client loop ends at once.
  const onAbort = (): void => {
    stop.abort(signal.reason)
    pool.destroy().catch(() => {})
  }
  signal.addEventListener('abort', onAbort, { once: true })
  const random = createRandom(options.seed)
  const histogram = createLatencyHistogram()
  const start = performance.now()
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  let completed = 0
  let errors = 0
  let cpuAtWindow = 0
  let serverCpuAtWindow: number | undefined
  const windowTimer = setTimeout(() => {
    cpuAtWindow = ownCpuSeconds()
    if (options.serverPid !== undefined) serverCpuAtWindow = processCpuSeconds(options.serverPid)
  }, options.warmupMs)

  const client = async (): Promise<void> => {
    while (!stop.signal.aborted && performance.now() < windowEnd) {
      const spec = options.source(random)
      const sent = performance.now()
      const { error, status } = await new Promise<{ error: Error | null; status: number }>((resolve) => {
        send(pool, spec, (error, status) => resolve({ error, status }))
      })
      const done = performance.now()
      if (stop.signal.aborted || sent < windowStart || done >= windowEnd) continue
      if (error || status >= 400) errors++
      else {
        completed++
        recordLatencyMs(histogram, done - sent)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.connections }, client))
    if (signal.aborted) throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: signal.reason })
    const seconds = options.durationMs / 1000
    const serverCpuNow = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid)
    return {
      rps: completed / seconds,
      errors,
      latency: summarizeLatency(histogram),
      sender_cpu: Math.round(((ownCpuSeconds() - cpuAtWindow) / seconds) * 1000) / 1000,
      ...(serverCpuNow === undefined || serverCpuAtWindow === undefined
        ? {}
        : { server_cpu: Math.round(((serverCpuNow - serverCpuAtWindow) / seconds) * 1000) / 1000 }),
    }
  } finally {
    clearTimeout(windowTimer)
    signal.removeEventListener('abort', onAbort)
    stop.abort()
    await pool.destroy().catch(() => {})
  }
}
