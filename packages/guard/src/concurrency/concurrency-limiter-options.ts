import type { Registry } from '@hundredfold/metrics'
import { GuardError } from '../errors.js'
import {
  type Clock,
  checkFunction,
  checkName,
  checkNonNegativeInteger,
  checkPositive,
  invalid,
  monotonic,
  withDefaults,
} from './check.js'
import { fixed } from './fixed.js'
import { gradient2 } from './gradient2.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/** Options of {@link concurrencyLimiter}. Every static default is in `concurrencyLimiterDefaults`. */
export interface ConcurrencyLimiterOptions {
  /**
   * The algorithm that sets the limit (`gradient2()`, `vegas()`, `aimd()`, `fixed(n)`), or a number for
   * `fixed(n)`. Give each limiter its own instance: algorithms keep state.
   * @default gradient2()
   */
  limit?: LimitAlgorithm | number
  /** What errors, events and metrics call it (the `policy` label). @default 'concurrency' */
  name?: string
  /**
   * Calls that may wait for a slot when the limit is reached: 0 sheds at once (the point of an adaptive
   * limit: the queue is the latency it protects against). A few places absorb bursts shorter than
   * `maxQueueWaitMs`. @default 0
   */
  maxQueued?: number
  /** How long a queued call may wait before it is shed, in ms. @default 50 */
  maxQueueWaitMs?: number
  /**
   * Which failures of the guarded call count as drops (overload: timeouts, refusals downstream), fed to the
   * algorithm as such. Other failures, and calls the caller aborted, are not sampled at all: a fast failure
   * says nothing about capacity. @default isOverloadError
   */
  isDrop?: (error: unknown) => boolean
  /** Milliseconds from any origin, for RTTs and queue waits. @default performance.now() */
  now?: Clock
  /** Where to report the limit, in-flight and queued gauges and the outcomes counter. @default none */
  registry?: Registry
}

/** Codes of the {@link GuardError}s {@link isOverloadError} counts as drops. */
const OVERLOAD_CODES: ReadonlySet<string> = new Set([
  'E_TIMEOUT',
  'E_CONCURRENCY_LIMITED',
  'E_BULKHEAD_FULL',
  'E_QUEUE_TIMEOUT',
  'E_CIRCUIT_OPEN',
  'E_RATE_LIMITED',
])

/**
 * The default drop predicate: a {@link GuardError} saying the downstream was overloaded or slow
 * (`E_TIMEOUT`, `E_CONCURRENCY_LIMITED`, `E_BULKHEAD_FULL`, `E_QUEUE_TIMEOUT`, `E_CIRCUIT_OPEN`,
 * `E_RATE_LIMITED`), a `TimeoutError` (`AbortSignal.timeout`) or an `ETIMEDOUT`.
 *
 * @example
 * concurrencyLimiter({ limit: aimd(), isDrop: (err) => isOverloadError(err) || isStatus503(err) })
 */
export function isOverloadError(error: unknown): boolean {
  if (error instanceof GuardError) return OVERLOAD_CODES.has(error.code)
  if (typeof error !== 'object' || error === null) return false
  const { name, code } = error as { name?: unknown; code?: unknown }
  return name === 'TimeoutError' || code === 'ETIMEDOUT'
}

/** The static defaults of {@link ConcurrencyLimiterOptions}. */
export const concurrencyLimiterDefaults = Object.freeze({
  name: 'concurrency',
  maxQueued: 0,
  maxQueueWaitMs: 50,
  isDrop: isOverloadError as (error: unknown) => boolean,
  now: monotonic,
})

/** @internal */
export interface ResolvedConcurrencyLimiterOptions {
  readonly limit: LimitAlgorithm
  readonly name: string
  readonly maxQueued: number
  readonly maxQueueWaitMs: number
  readonly isDrop: (error: unknown) => boolean
  readonly now: Clock
  readonly registry: Registry | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveConcurrencyLimiterOptions(
  options: ConcurrencyLimiterOptions,
): ResolvedConcurrencyLimiterOptions {
  const o = withDefaults(concurrencyLimiterDefaults, options)
  checkName('options.name', o.name)
  checkNonNegativeInteger('options.maxQueued', o.maxQueued)
  checkPositive('options.maxQueueWaitMs', o.maxQueueWaitMs)
  checkFunction('options.isDrop', o.isDrop)
  checkFunction('options.now', o.now)
  let limit: LimitAlgorithm
  if (o.limit === undefined) limit = gradient2()
  else if (typeof o.limit === 'number') limit = fixed(o.limit)
  else if (typeof o.limit === 'object' && o.limit !== null && typeof o.limit.onSample === 'function')
    limit = o.limit
  else
    throw invalid(
      'options.limit',
      'must be a limit algorithm (gradient2(), vegas(), aimd(), fixed(n)) or a number',
      o.limit,
    )
  return Object.freeze({
    limit,
    name: o.name,
    maxQueued: o.maxQueued,
    maxQueueWaitMs: o.maxQueueWaitMs,
    isDrop: o.isDrop,
    now: o.now,
    registry: o.registry,
  })
}
