import { performance } from 'node:perf_hooks'
import type { Pool } from 'undici'
import { send } from '../../loadgen/send.js'
import { openSenderPool } from '../../loadgen/sender-pool.js'
import { processCpuSeconds } from '../../machine/cpu.js'
import { emptySample, recordNs, type Sample, type Window } from './sample.js'

/** A closed-loop load on one server's route, through one keep-alive pool kept for every window. */
export interface RouteLoad {
  /** A window of `ms`: `connections` clients each send their next request on the last answer. */
  window(ms: number): Window
  close(): Promise<void>
}

const SPEC = { endpoint: 'limited', method: 'GET' as const }

/**
 * `connections` clients, one request in flight each (pipelining 1), back to back for each window.
 * A request counts when it answers 2xx; anything else is an error. The server's CPU over the window
 * comes from /proc.
 *
 * @example
 * const load = routeLoad({ baseUrl, pid, path: '/limited', connections: 32 })
 * const sample = await load.window(2000)(signal)
 */
export function routeLoad(options: {
  baseUrl: string
  pid: number
  path: string
  connections: number
}): RouteLoad {
  const pool: Pool = openSenderPool({ ...options, timeoutMs: 10_000 })
  const spec = { ...SPEC, path: options.path }
  const request = () =>
    new Promise<number>((resolve) => {
      send(pool, spec, (error, status) => resolve(error ? 0 : status))
    })
  const window =
    (ms: number): Window =>
    async (signal) => {
      const sample: Sample = emptySample()
      const cpuBefore = processCpuSeconds(options.pid)
      const started = performance.now()
      const deadline = started + ms
      const client = async (): Promise<void> => {
        while (!signal.aborted && performance.now() < deadline) {
          const sent = performance.now()
          const status = await request()
          if (status < 200 || status >= 300) {
            sample.errors++
            continue
          }
          recordNs(sample.histogram, (performance.now() - sent) * 1e6)
          sample.calls++
        }
      }
      await Promise.all(Array.from({ length: options.connections }, client))
      sample.seconds = (performance.now() - started) / 1000
      const cpuAfter = processCpuSeconds(options.pid)
      if (cpuBefore !== undefined && cpuAfter !== undefined) sample.serverCpuSeconds = cpuAfter - cpuBefore
      return sample
    }
  return { window, close: () => pool.destroy().catch(() => {}) }
}
