/** The server's own figures the bench reads from its `/metrics` (prom-client's default names). */
export interface ServerMetrics {
  heap_used_bytes: number | null
  heap_total_bytes: number | null
  /**
   * p99 event-loop delay since the previous scrape (`monitorEventLoopDelay`, reset at each scrape), less the
   * histogram's sampling interval when the server says what it is (each sample includes it: an idle loop
   * would otherwise read ~10 ms).
   */
  loop_delay_p99_seconds: number | null
  resident_bytes: number | null
}

const NAMES = {
  heap_used_bytes: 'nodejs_heap_size_used_bytes',
  heap_total_bytes: 'nodejs_heap_size_total_bytes',
  loop_delay_p99_seconds: 'nodejs_eventloop_lag_p99_seconds',
  resident_bytes: 'process_resident_memory_bytes',
} as const satisfies Record<keyof ServerMetrics, string>

const RESOLUTION = 'nodejs_eventloop_lag_resolution_seconds'

function loopDelay(p99: number | null, resolution: number | null): number | null {
  if (p99 === null) return null
  return resolution === null ? p99 : Math.max(0, p99 - resolution)
}

/** What a server without `/metrics` (or one that did not answer) gives. */
export const NO_SERVER_METRICS: Readonly<ServerMetrics> = Object.freeze({
  heap_used_bytes: null,
  heap_total_bytes: null,
  loop_delay_p99_seconds: null,
  resident_bytes: null,
})

/**
 * Reads the unlabelled samples the bench wants from a Prometheus text exposition; a missing name is null.
 *
 * @example
 * parseServerMetrics('nodejs_heap_size_used_bytes 26734896\n').heap_used_bytes // 26734896
 */
export function parseServerMetrics(text: string): ServerMetrics {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)/.exec(line)
    if (match?.[1] && match[2] !== undefined) samples.set(match[1], Number(match[2]))
  }
  const value = (name: string): number | null => {
    const found = samples.get(name)
    return found === undefined || !Number.isFinite(found) ? null : found
  }
  return {
    heap_used_bytes: value(NAMES.heap_used_bytes),
    heap_total_bytes: value(NAMES.heap_total_bytes),
    loop_delay_p99_seconds: loopDelay(value(NAMES.loop_delay_p99_seconds), value(RESOLUTION)),
    resident_bytes: value(NAMES.resident_bytes),
  }
}

/** Fetches a `/metrics` text; what the sampler calls, injectable for tests. */
export type MetricsScraper = (url: string, signal: AbortSignal) => Promise<string | undefined>

/**
 * `GET <url>` with a 2 s deadline; undefined on any failure (no such route, a server that is not ours).
 *
 * @example
 * const text = await scrapeMetrics('http://127.0.0.1:8080/metrics', signal)
 */
export const scrapeMetrics: MetricsScraper = async (url, signal) => {
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) })
    const text = await response.text()
    return response.ok ? text : undefined
  } catch {
    return undefined
  }
}
