import type { Registry } from '@hundredfold/metrics'
import {
  type Clock,
  checkFunction,
  checkName,
  checkNonNegativeInteger,
  checkPositive,
  checkPositiveInteger,
  monotonic,
  withDefaults,
} from '../concurrency/check.js'

/** Options of {@link bulkhead}. Every default is in `bulkheadDefaults`. */
export interface BulkheadOptions {
  /** Calls that may run at once: size it to what the dependency behind it takes. Required. */
  maxConcurrent: number
  /**
   * Calls that may wait for a slot; beyond, a call is refused at once with `E_BULKHEAD_FULL`. Never
   * unbounded: an unbounded queue turns overload into latency for everyone. @default 0
   */
  maxQueued?: number
  /** How long a call may wait for a slot before it fails with `E_QUEUE_TIMEOUT`, in ms. @default 1_000 */
  queueTimeoutMs?: number
  /** What errors, events and metrics call it (the `policy` label). @default 'bulkhead' */
  name?: string
  /** Milliseconds from any origin, for queue waits. @default performance.now() */
  now?: Clock
  /** Where to report in-flight, queue depth and queue wait. @default none */
  registry?: Registry
}

/** The defaults of {@link BulkheadOptions}. */
export const bulkheadDefaults = Object.freeze({
  maxQueued: 0,
  queueTimeoutMs: 1_000,
  name: 'bulkhead',
  now: monotonic,
})

/** @internal */
export type ResolvedBulkheadOptions = Readonly<Required<Omit<BulkheadOptions, 'registry'>>> & {
  readonly registry: Registry | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveBulkheadOptions(options: BulkheadOptions): ResolvedBulkheadOptions {
  const o = withDefaults(bulkheadDefaults, options)
  checkPositiveInteger('options.maxConcurrent', o.maxConcurrent)
  checkNonNegativeInteger('options.maxQueued', o.maxQueued)
  checkPositive('options.queueTimeoutMs', o.queueTimeoutMs)
  checkName('options.name', o.name)
  checkFunction('options.now', o.now)
  return Object.freeze({ ...o, registry: o.registry })
}
