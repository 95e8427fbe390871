import type { Registry } from '@hundredfold/metrics'
import { GuardError } from '../errors.js'
import type { BreakerStateEvent } from '../observe/index.js'

/** Options of `circuitBreaker`. Every default is in `circuitBreakerDefaults`. */
export interface CircuitBreakerOptions {
  /** Names the breaker in errors, events and metrics. @default 'breaker' */
  name?: string
  /** The sliding window the ratios are taken over: the last `windowSize` calls, or the last `windowMs`. @default 'count' */
  window?: 'count' | 'time'
  /** `window: 'count'`: how many of the latest calls count. @default 100 */
  windowSize?: number
  /** `window: 'time'`: how far back calls count, in ms. @default 60_000 */
  windowMs?: number
  /** `window: 'time'`: the window moves in this many steps. @default 10 */
  windowBuckets?: number
  /** The ratios are not judged on fewer calls than this in the window. @default 20 */
  minimumCalls?: number
  /** Opens when at least this share of the window's calls failed, in (0, 1]; `false`: never on ratio. @default 0.5 */
  failureRatio?: number | false
  /** A call at least this slow, in ms, is a slow call; `false`: no slow-call trigger. @default false */
  slowCallMs?: number | false
  /** Opens when at least this share of the window's calls were slow, in (0, 1]. @default 0.5 */
  slowCallRatio?: number
  /** Opens after this many failures in a row, whatever the window says; `false`: off. @default false */
  consecutiveFailures?: number | false
  /** How long it stays open before probing, in ms. @default 10_000 */
  openMs?: number
  /** Each failed probe multiplies the open period by `openBackoff`, up to this, in ms. @default openMs (no growth) */
  maxOpenMs?: number
  /** The factor the open period grows by after a failed probe, ≥ 1. @default 2 */
  openBackoff?: number
  /** Calls admitted while half-open: all must succeed to close; any failure reopens. @default 1 */
  halfOpenProbes?: number
  /**
   * Whether an error counts as a failure; other errors count as successes (the service answered). A
   * `GuardError` `E_ABORTED`, or any error once the caller's signal has fired (the caller gave up),
   * counts as neither. @default {@link defaultIsFailure}
   */
  isFailure?: (error: unknown) => boolean
  /** Told of every state change (also published on `hundredfold:guard:breaker-state`). */
  onStateChange?: (event: BreakerStateEvent) => void
  /** Exports the state (`hundredfold_guard_breaker_state`) and counts rejections. @default none */
  registry?: Registry
  /** The clock, in ms; inject one in tests. @default Date.now */
  now?: () => number
}

// Refusals by other guard policies say nothing about the health of what the breaker protects.
const LOCAL_REFUSALS = new Set([
  'E_RATE_LIMITED',
  'E_CIRCUIT_OPEN',
  'E_CONCURRENCY_LIMITED',
  'E_BULKHEAD_FULL',
  'E_QUEUE_TIMEOUT',
  'E_DEGRADED',
  'E_DEADLINE_EXCEEDED',
])

/**
 * The default `isFailure`: every error except the guard's own local refusals (`E_RATE_LIMITED`,
 * `E_CIRCUIT_OPEN`, `E_CONCURRENCY_LIMITED`, `E_BULKHEAD_FULL`, `E_QUEUE_TIMEOUT`, `E_DEGRADED`,
 * `E_DEADLINE_EXCEEDED`). Timeouts (`E_TIMEOUT`) and store failures (`E_BACKEND`) are failures.
 *
 * @example
 * circuitBreaker({ isFailure: (err) => defaultIsFailure(err) && !(err instanceof HttpError && err.status < 500) })
 */
export function defaultIsFailure(error: unknown): boolean {
  return !(error instanceof GuardError && LOCAL_REFUSALS.has(error.code))
}

/** The defaults of {@link CircuitBreakerOptions} (`maxOpenMs` defaults to `openMs`). */
export const circuitBreakerDefaults = Object.freeze({
  name: 'breaker',
  window: 'count' as 'count' | 'time',
  windowSize: 100,
  windowMs: 60_000,
  windowBuckets: 10,
  minimumCalls: 20,
  failureRatio: 0.5 as number | false,
  slowCallMs: false as number | false,
  slowCallRatio: 0.5,
  consecutiveFailures: false as number | false,
  openMs: 10_000,
  openBackoff: 2,
  halfOpenProbes: 1,
  isFailure: defaultIsFailure,
  now: (): number => Date.now(),
})

/** @internal */
export type ResolvedBreakerOptions = Readonly<
  Required<Omit<CircuitBreakerOptions, 'onStateChange' | 'registry'>> &
    Pick<CircuitBreakerOptions, 'onStateChange' | 'registry'>
>

/** Applies the defaults and checks every option, naming the bad one. @internal */
export function resolveBreakerOptions(options: CircuitBreakerOptions): ResolvedBreakerOptions {
  if (options === null || typeof options !== 'object') throw invalid('', 'an object', options)
  const merged = { ...circuitBreakerDefaults, ...stripUndefined(options) }
  const r = { ...merged, maxOpenMs: merged.maxOpenMs ?? merged.openMs }
  if (typeof r.name !== 'string' || r.name === '') throw invalid('name', 'a non-empty string', r.name)
  if (r.window !== 'count' && r.window !== 'time') throw invalid('window', "'count' or 'time'", r.window)
  for (const name of ['windowSize', 'windowBuckets', 'minimumCalls', 'halfOpenProbes'] as const) {
    if (!Number.isInteger(r[name]) || r[name] < 1) throw invalid(name, 'a positive integer', r[name])
  }
  if (r.window === 'count' && r.minimumCalls > r.windowSize) {
    throw invalid('minimumCalls', 'at most options.windowSize', r.minimumCalls)
  }
  for (const name of ['windowMs', 'openMs', 'maxOpenMs'] as const) {
    if (!Number.isFinite(r[name]) || r[name] <= 0) throw invalid(name, 'a positive number', r[name])
  }
  if (r.maxOpenMs < r.openMs) throw invalid('maxOpenMs', 'at least options.openMs', r.maxOpenMs)
  if (!Number.isFinite(r.openBackoff) || r.openBackoff < 1)
    throw invalid('openBackoff', 'a number ≥ 1', r.openBackoff)
  if (r.failureRatio !== false && !(r.failureRatio > 0 && r.failureRatio <= 1)) {
    throw invalid('failureRatio', 'in (0, 1] or false', r.failureRatio)
  }
  if (!(r.slowCallRatio > 0 && r.slowCallRatio <= 1))
    throw invalid('slowCallRatio', 'in (0, 1]', r.slowCallRatio)
  if (r.slowCallMs !== false && !(Number.isFinite(r.slowCallMs) && r.slowCallMs > 0)) {
    throw invalid('slowCallMs', 'a positive number or false', r.slowCallMs)
  }
  if (
    r.consecutiveFailures !== false &&
    !(Number.isInteger(r.consecutiveFailures) && r.consecutiveFailures >= 1)
  ) {
    throw invalid('consecutiveFailures', 'a positive integer or false', r.consecutiveFailures)
  }
  for (const name of ['isFailure', 'now'] as const) {
    if (typeof r[name] !== 'function') throw invalid(name, 'a function', r[name])
  }
  if (r.onStateChange !== undefined && typeof r.onStateChange !== 'function') {
    throw invalid('onStateChange', 'a function', r.onStateChange)
  }
  return Object.freeze(r)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  const path = option === '' ? 'options' : `options.${option}`
  return new GuardError('E_INVALID_OPTION', `${path} must be ${rule}`, { option: path, value })
}
