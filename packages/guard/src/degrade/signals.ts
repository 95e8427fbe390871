import { monitorEventLoopDelay } from 'node:perf_hooks'
import { checkPositiveInteger, invalid, withDefaults } from '../concurrency/check.js'

/** A load signal for a degradation switch that holds a resource: `close()` it when done. */
export interface ClosableSignal {
  (): number
  /** Stops what the signal measures with. Idempotent. */
  close(): void
}

/** Options of {@link eventLoopDelaySignal}. Every default is in `eventLoopDelaySignalDefaults`. */
export interface EventLoopDelaySignalOptions {
  /** The percentile reported, in (0, 100]. @default 99 */
  percentile?: number
  /** How often the delay is sampled, in ms (`monitorEventLoopDelay`'s `resolution`). @default 10 */
  resolutionMs?: number
}

/** The defaults of {@link EventLoopDelaySignalOptions}. */
export const eventLoopDelaySignalDefaults = Object.freeze({ percentile: 99, resolutionMs: 10 })

/**
 * The event-loop delay at a percentile since the previous read, in ms (`perf_hooks.monitorEventLoopDelay`,
 * reset at each read, so a switch sampling every `intervalMs` sees each interval's p99 alone). 0 before
 * any delay was measured.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const delay = eventLoopDelaySignal({ percentile: 99 })
 * const antispam = degradeSwitch({ name: 'antispam', signal: delay, onAbove: 100, offBelow: 40 }).start()
 * // at shutdown: antispam.stop(); delay.close()
 */
export function eventLoopDelaySignal(options: EventLoopDelaySignalOptions = {}): ClosableSignal {
  const o = withDefaults(eventLoopDelaySignalDefaults, options)
  if (typeof o.percentile !== 'number' || !(o.percentile > 0 && o.percentile <= 100)) {
    throw invalid('options.percentile', 'must be in (0, 100]', o.percentile)
  }
  checkPositiveInteger('options.resolutionMs', o.resolutionMs)
  const histogram = monitorEventLoopDelay({ resolution: o.resolutionMs })
  histogram.enable()
  const read = (): number => {
    const ns = histogram.count > 0 ? histogram.percentile(o.percentile) : 0
    histogram.reset()
    return ns / 1e6
  }
  return Object.assign(read, { close: () => histogram.disable() })
}

/** What {@link inFlightSignal} reads: a concurrency limiter, a bulkhead, anything with `inFlight`. */
export interface InFlightSource {
  readonly inFlight: number
  /** With `relative`, the in-flight count is divided by it (a limiter's `limit`). */
  readonly limit?: number
}

/**
 * The calls in flight in a limiter or bulkhead; with `relative: true`, as a share of its `limit` (0..1,
 * more when the limit just fell), so the thresholds survive an adaptive limit moving.
 *
 * @example
 * const recs = degradeSwitch({ name: 'recs', signal: inFlightSignal(inbound, { relative: true }), onAbove: 0.9, offBelow: 0.6 })
 */
export function inFlightSignal(source: InFlightSource, options: { relative?: boolean } = {}): () => number {
  if (typeof source?.inFlight !== 'number') throw invalid('source', 'must have a numeric inFlight', source)
  if (!options.relative) return () => source.inFlight
  if (typeof source.limit !== 'number')
    throw invalid('source', 'must have a numeric limit with relative: true', source)
  return () => source.inFlight / Math.max(1, source.limit ?? 1)
}

/** What {@link breakerOpenSignal} reads: a circuit breaker, or a function telling its state. */
export type BreakerStateSource = { readonly state: string } | (() => string)

/**
 * 1 while a circuit breaker is `open` (or `isolated`, forced open), else 0: with `onAbove: 0.5, offBelow: 0.5`
 * the switch follows the breaker, plus its dwell times. Takes any `{ state }`-like object, or a function.
 *
 * @example
 * const search = degradeSwitch({ name: 'search-ui', signal: breakerOpenSignal(searchBreaker), onAbove: 0.5, offBelow: 0.5 })
 */
export function breakerOpenSignal(breaker: BreakerStateSource): () => number {
  const state =
    typeof breaker === 'function'
      ? breaker
      : typeof breaker?.state === 'string'
        ? () => breaker.state
        : undefined
  if (!state) throw invalid('breaker', 'must have a string state, or be a function returning one', breaker)
  return () => {
    const s = state()
    return s === 'open' || s === 'isolated' ? 1 : 0
  }
}
