import { performance } from 'node:perf_hooks'
import type { Registry } from '@hundredfold/metrics'
import { GuardError } from '../errors.js'
import { countRejection, guardMetrics, publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import { RollingHistogram } from './rolling-histogram.js'
import { runWithTimeout } from './run-with-timeout.js'

/** Options of {@link adaptiveTimeout}. Every default is in `adaptiveTimeoutDefaults`. */
export interface AdaptiveTimeoutOptions {
  /** The latency percentile the bound follows, in (0, 1). @default 0.99 */
  percentile?: number
  /** The bound is the percentile times this, ≥ 1. @default 1.5 */
  multiplier?: number
  /** The bound never goes below this, in ms. @default 10 */
  minMs?: number
  /** The bound never goes above this, in ms. @default 10_000 */
  maxMs?: number
  /** The bound until `minSamples` calls are measured (and when the window empties), in ms. @default maxMs */
  initialMs?: number
  /** How far back latencies count, in ms. @default 60_000 */
  windowMs?: number
  /** The window moves in this many steps (the oldest step is dropped at once). @default 6 */
  slices?: number
  /** Calls measured in the window before the bound follows them. @default 20 */
  minSamples?: number
  /** The bound is recomputed after this many calls (and when the window moves). @default 16 */
  updateEvery?: number
  /** With less than this left of the caller's deadline, fail at once with `E_DEADLINE_EXCEEDED`. @default 0 */
  minBudgetMs?: number
  /** Names the policy in errors, events and metrics. @default 'adaptive-timeout' */
  name?: string
  /** Exports the bound (`hundredfold_guard_timeout_seconds`) and counts timeouts. @default none */
  registry?: Registry
  /** The clock durations are measured with, in ms (monotonic). @default performance.now */
  now?: () => number
}

/** The defaults of {@link AdaptiveTimeoutOptions} (`initialMs` defaults to `maxMs`). */
export const adaptiveTimeoutDefaults = Object.freeze({
  percentile: 0.99,
  multiplier: 1.5,
  minMs: 10,
  maxMs: 10_000,
  windowMs: 60_000,
  slices: 6,
  minSamples: 20,
  updateEvery: 16,
  minBudgetMs: 0,
  name: 'adaptive-timeout',
  now: (): number => performance.now(),
})

type Resolved = Readonly<
  Required<Omit<AdaptiveTimeoutOptions, 'registry'>> & Pick<AdaptiveTimeoutOptions, 'registry'>
>

/**
 * A timeout that follows measured latency: the bound is `percentile` of the durations of the calls in the
 * last `windowMs`, times `multiplier`, within `[minMs, maxMs]` (the seed: set the timeout from the p99 of
 * the call logs, then keep it set). Successful calls are measured; a call that timed out counts as taking
 * its bound, so when more than `1 − percentile` of calls time out the bound grows (×`multiplier` per
 * update, up to `maxMs`) instead of starving on samples it cut short. Failed calls are not measured: fast
 * errors would pull the bound down.
 *
 * @example
 * const bounded = adaptiveTimeout({ percentile: 0.99, multiplier: 1.5, minMs: 20, maxMs: 2_000 })
 * const row = await bounded.execute(({ signal }) => replica.query(sql, params, { signal }), request.signal)
 * bounded.timeoutMs // e.g. 180 once p99 is 120 ms
 */
export function adaptiveTimeout(options: AdaptiveTimeoutOptions = {}): AdaptiveTimeout {
  return new AdaptiveTimeout(options)
}

/** An adaptive timeout as a {@link Policy}. Made by {@link adaptiveTimeout}. */
export class AdaptiveTimeout implements Policy {
  readonly #options: Resolved
  readonly #histogram: RollingHistogram
  readonly #gauge: { set(value: number): void } | undefined
  #timeoutMs: number
  #percentileMs = Number.NaN
  #sinceUpdate = 0
  #sliceEpoch = Number.NaN

  constructor(options: AdaptiveTimeoutOptions) {
    this.#options = resolveOptions(options)
    const { minMs, maxMs, windowMs, slices, initialMs, name, registry } = this.#options
    this.#histogram = new RollingHistogram({
      lowestMs: Math.min(minMs, 0.01),
      highestMs: maxMs,
      windowMs,
      slices,
    })
    this.#timeoutMs = initialMs
    this.#gauge = guardMetrics(registry)?.timeoutSeconds.labels({ policy: name })
    this.#gauge?.set(initialMs / 1000)
  }

  /** The bound the next call gets, in ms. */
  get timeoutMs(): number {
    return this.#timeoutMs
  }

  /** The measured percentile the bound follows, in ms, as of the last update (NaN before `minSamples`). */
  get percentileMs(): number {
    return this.#percentileMs
  }

  /** Calls measured in the window, as of the last call. */
  get samples(): number {
    return this.#histogram.count
  }

  async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { now, minBudgetMs, name, registry } = this.#options
    const bound = this.#timeoutMs
    const start = now()
    let timedOut = false
    try {
      const value = await runWithTimeout(fn, signal, bound, minBudgetMs, name, () => {
        timedOut = true
        publish('timeout', () => ({ policy: name, timeoutMs: bound }))
        countRejection(registry, name, 'E_TIMEOUT')
      })
      this.#record(now() - start)
      return value
    } catch (err) {
      if (timedOut) this.#record(bound)
      throw err
    }
  }

  #record(durationMs: number): void {
    const { now, windowMs, slices, updateEvery } = this.#options
    const at = now()
    this.#histogram.record(durationMs, at)
    const epoch = Math.floor(at / (windowMs / slices))
    if (++this.#sinceUpdate >= updateEvery || epoch !== this.#sliceEpoch) {
      this.#sliceEpoch = epoch
      this.#update(at)
    }
  }

  #update(at: number): void {
    const { percentile, multiplier, minMs, maxMs, minSamples, initialMs, name } = this.#options
    this.#sinceUpdate = 0
    const measured = this.#histogram.percentile(percentile, at)
    const enough = this.#histogram.count >= minSamples
    this.#percentileMs = enough ? measured : Number.NaN
    const next = enough ? Math.min(maxMs, Math.max(minMs, measured * multiplier)) : initialMs
    if (next === this.#timeoutMs) return
    const previousMs = this.#timeoutMs
    this.#timeoutMs = next
    this.#gauge?.set(next / 1000)
    publish('adaptive-timeout', () => ({
      policy: name,
      previousMs,
      timeoutMs: next,
      percentileMs: this.#percentileMs,
      samples: this.#histogram.count,
    }))
  }
}

function resolveOptions(options: AdaptiveTimeoutOptions): Resolved {
  if (options === null || typeof options !== 'object') throw invalid('', 'an object', options)
  const merged = { ...adaptiveTimeoutDefaults, ...stripUndefined(options) }
  const resolved = { ...merged, initialMs: merged.initialMs ?? merged.maxMs }
  const { percentile, multiplier, minMs, maxMs, initialMs } = resolved
  if (!(percentile > 0 && percentile < 1)) throw invalid('percentile', 'in (0, 1)', percentile)
  if (!Number.isFinite(multiplier) || multiplier < 1) throw invalid('multiplier', 'a number ≥ 1', multiplier)
  for (const name of ['minMs', 'maxMs', 'windowMs'] as const) {
    if (!Number.isFinite(resolved[name]) || resolved[name] <= 0)
      throw invalid(name, 'a positive number', resolved[name])
  }
  if (maxMs < minMs) throw invalid('maxMs', 'at least options.minMs', maxMs)
  if (!Number.isFinite(initialMs) || initialMs < minMs || initialMs > maxMs) {
    throw invalid('initialMs', 'between options.minMs and options.maxMs', initialMs)
  }
  for (const name of ['slices', 'minSamples', 'updateEvery'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1)
      throw invalid(name, 'a positive integer', resolved[name])
  }
  if (resolved.slices > 1000) throw invalid('slices', 'at most 1000', resolved.slices)
  if (!Number.isFinite(resolved.minBudgetMs) || resolved.minBudgetMs < 0) {
    throw invalid('minBudgetMs', 'a finite number ≥ 0', resolved.minBudgetMs)
  }
  if (typeof resolved.name !== 'string' || resolved.name === '')
    throw invalid('name', 'a non-empty string', resolved.name)
  if (typeof resolved.now !== 'function') throw invalid('now', 'a function', resolved.now)
  return Object.freeze(resolved)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  const path = option === '' ? 'options' : `options.${option}`
  return new GuardError('E_INVALID_OPTION', `${path} must be ${rule}`, { option: path, value })
}
