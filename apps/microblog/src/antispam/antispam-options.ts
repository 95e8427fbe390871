import { GuardError } from '@hundredfold/guard'
import type { Registry } from '@hundredfold/metrics'
import type { AntispamModel } from './classifier.js'

/** Options of {@link createAntispam}. Every default is in `antispamDefaults`. */
export interface AntispamOptions {
  /**
   * Worker threads that run the check. `0` runs it inline, on the calling thread (tests, or a machine
   * with one core). @default 1
   */
  threads?: number
  /**
   * Checks that may wait for a thread; the next is refused at once with `E_BULKHEAD_FULL`, so a compose
   * never waits behind an unbounded backlog of checks. @default 64
   */
  maxQueued?: number
  /** How long a check may wait for a thread before it fails with `E_QUEUE_TIMEOUT`, in ms. @default 200 */
  queueTimeoutMs?: number
  /** The pool's name: the `policy` label of its guard metrics and the name in its errors. @default 'antispam' */
  name?: string
  /** The classifier. @default defaultAntispamModel(), trained on first use */
  model?: AntispamModel
  /**
   * Where to report: the pool's in-flight, queue depth, queue wait and utilization
   * (`hundredfold_guard_bulkhead_*`), and verdicts (`antispam_checks_total{verdict}`). @default none
   */
  registry?: Registry
  /**
   * Told of pool errors no check is waiting for (a worker that failed while idle; piscina replaces it).
   * A check's own failure rejects that check instead. @default ignore
   */
  onError?: (error: unknown) => void
}

/** The defaults of {@link AntispamOptions}. */
export const antispamDefaults = Object.freeze({
  threads: 1,
  maxQueued: 64,
  queueTimeoutMs: 200,
  name: 'antispam',
})

/** @internal */
export type ResolvedAntispamOptions = Readonly<
  Required<Omit<AntispamOptions, 'model' | 'registry' | 'onError'>>
> & {
  readonly model: AntispamModel | undefined
  readonly registry: Registry | undefined
  readonly onError: ((error: unknown) => void) | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveAntispamOptions(options: AntispamOptions): ResolvedAntispamOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const o = { ...antispamDefaults, ...given } as Required<
    Omit<AntispamOptions, 'model' | 'registry' | 'onError'>
  > &
    AntispamOptions
  if (!Number.isInteger(o.threads) || o.threads < 0)
    throw invalid('options.threads', 'must be an integer ≥ 0', o.threads)
  if (!Number.isInteger(o.maxQueued) || o.maxQueued < 0) {
    throw invalid('options.maxQueued', 'must be an integer ≥ 0', o.maxQueued)
  }
  if (typeof o.queueTimeoutMs !== 'number' || !Number.isFinite(o.queueTimeoutMs) || o.queueTimeoutMs <= 0) {
    throw invalid('options.queueTimeoutMs', 'must be a finite number > 0', o.queueTimeoutMs)
  }
  if (typeof o.name !== 'string' || o.name.length === 0)
    throw invalid('options.name', 'must be a non-empty string', o.name)
  const model = o.model
  if (
    model !== undefined &&
    !(model.weights instanceof Float32Array && model.weights.length === 2 ** model.bits)
  ) {
    throw invalid('options.model', 'must have 2^bits float32 weights', model)
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw invalid('options.onError', 'must be a function', o.onError)
  }
  return Object.freeze({ ...o, model, registry: o.registry, onError: o.onError })
}

function invalid(option: string, message: string, value: unknown): GuardError {
  return new GuardError('E_INVALID_OPTION', `${option} ${message}`, { option, value })
}
