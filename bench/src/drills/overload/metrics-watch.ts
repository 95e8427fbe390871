import { performance } from 'node:perf_hooks'
import { request } from 'undici'

/** What the watch read from the server's `/metrics` at one moment. */
export interface MetricsSample {
  /** `performance.now()` of the read. */
  at: number
  /** `hundredfold_guard_degrade_on{policy="antispam"}`: 1 while the antispam check is skipped. */
  antispamDegraded: number | undefined
  /** `hundredfold_guard_concurrency_limit{policy="http"}`: the inbound limit. */
  concurrencyLimit: number | undefined
}

/** A background reader of `/metrics`, every `intervalMs`, until `stop()`. */
export interface MetricsWatch {
  stop(): Promise<MetricsSample[]>
}

/**
 * Reads the server's degrade switch and inbound limit from `/metrics` (exempt from the guard, so it
 * answers however loaded the server is) every `intervalMs`.
 *
 * @example
 * const watch = watchMetrics(`${baseUrl}/metrics`, 250, signal)
 * const samples = await watch.stop()
 */
export function watchMetrics(url: string, intervalMs: number, signal: AbortSignal): MetricsWatch {
  const samples: MetricsSample[] = []
  let stopped = false
  const loop = (async () => {
    while (!stopped && !signal.aborted) {
      const began = performance.now()
      try {
        const res = await request(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) })
        const text = await res.body.text()
        samples.push({
          at: began,
          antispamDegraded: gauge(text, 'hundredfold_guard_degrade_on', 'antispam'),
          concurrencyLimit: gauge(text, 'hundredfold_guard_concurrency_limit', 'http'),
        })
      } catch {
        // A read that failed is a gap in the samples, not a failed drill.
      }
      const wait = intervalMs - (performance.now() - began)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      return samples
    },
  }
}

/** The value of `name{policy="<policy>"}` in a Prometheus text exposition. */
export function gauge(text: string, name: string, policy: string): number | undefined {
  const prefix = `${name}{policy="${policy}"} `
  const start = text.indexOf(prefix)
  if (start < 0) return undefined
  const end = text.indexOf('\n', start)
  const value = Number(text.slice(start + prefix.length, end < 0 ? undefined : end))
  return Number.isFinite(value) ? value : undefined
}
