import type { BalanceError } from '../errors.js'

/** One endpoint a discovery source found. */
export interface DiscoveredEndpoint {
  /** `http://host:port` (or https). */
  origin: string
  /** The endpoint's share relative to the others, for weight-aware pickers (SRV weight, …). @default 1 */
  weight?: number
}

/** What a {@link Discovery} reports to. */
export interface DiscoveryListener {
  /** The full current set, each time it is (re)read; the balancer adds and drains the difference. */
  update(endpoints: readonly DiscoveredEndpoint[]): void
  /** A read failed; the last good set stays in use. */
  error(error: BalanceError): void
}

/**
 * A source of endpoints. `watch` reports the current set, then every change, until `signal` aborts.
 * Written once per backend (`staticDiscovery`, `dnsDiscovery`, `fileDiscovery`, `kubernetesDiscovery`) and
 * run through the same contract suite (`@hundredfold/balance/testing`).
 *
 * @example
 * const fixed: Discovery = {
 *   name: 'fixed',
 *   watch: (listener) => listener.update([{ origin: 'http://10.0.0.1:8080' }]),
 * }
 */
export interface Discovery {
  /** A short name for errors (`dns`, `file`, `kubernetes`, …). */
  readonly name: string
  watch(listener: DiscoveryListener, signal: AbortSignal): void
}

/**
 * Runs `read` now and every `refreshMs` until `signal` aborts, reporting each result (or error). Reads never
 * overlap; a slow read delays the next. @internal
 */
export function poll(
  read: (signal: AbortSignal) => Promise<readonly DiscoveredEndpoint[]>,
  refreshMs: number,
  listener: DiscoveryListener,
  signal: AbortSignal,
  toError: (error: unknown) => BalanceError,
): void {
  let timer: NodeJS.Timeout | undefined
  const run = async () => {
    try {
      const endpoints = await read(signal)
      if (!signal.aborted) listener.update(endpoints)
    } catch (error) {
      if (!signal.aborted) listener.error(toError(error))
    }
    if (!signal.aborted) {
      timer = setTimeout(run, refreshMs)
      timer.unref()
    }
  }
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true })
  void run()
}
