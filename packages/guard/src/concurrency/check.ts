import { GuardError } from '../errors.js'

// Eager option checks shared by the concurrency, bulkhead and degrade options: each names the option, so
// `options.maxQueued must be an integer ≥ 0` points at the bad line of the caller's code.

/** Milliseconds from an arbitrary origin; injectable so tests drive time by hand. @internal */
export type Clock = () => number

/** The default clock: `performance.now()`, monotonic. @internal */
export const monotonic: Clock = () => performance.now()

/** The `E_INVALID_OPTION` error for `option`. @internal */
export function invalid(option: string, message: string, value: unknown): GuardError {
  return new GuardError('E_INVALID_OPTION', `${option} ${message}`, { option, value })
}

/** @internal */
export function checkPositiveInteger(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw invalid(option, 'must be a positive integer', value)
}

/** @internal */
export function checkNonNegativeInteger(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw invalid(option, 'must be an integer ≥ 0', value)
}

/** A finite number > 0. @internal */
export function checkPositive(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(option, 'must be a finite number > 0', value)
  }
}

/** A finite number ≥ 0. @internal */
export function checkNonNegative(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(option, 'must be a finite number ≥ 0', value)
  }
}

/** A number in (0, 1]. @internal */
export function checkFraction(option: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0 && value <= 1))
    throw invalid(option, 'must be in (0, 1]', value)
}

/** @internal */
export function checkFunction(option: string, value: unknown): void {
  if (typeof value !== 'function') throw invalid(option, 'must be a function', value)
}

/** @internal */
export function checkName(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(option, 'must be a non-empty string', value)
}

/** `{ ...defaults, ...options }` where an `undefined` option keeps its default. @internal */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  return { ...defaults, ...given } as D & O
}

/** `initialLimit`, `minLimit`, `maxLimit` of a limit algorithm: positive integers, min ≤ initial ≤ max. @internal */
export function checkLimitBounds(o: { initialLimit: number; minLimit: number; maxLimit: number }): void {
  for (const name of ['initialLimit', 'minLimit', 'maxLimit'] as const) {
    checkPositiveInteger(`options.${name}`, o[name])
  }
  if (o.minLimit > o.maxLimit)
    throw invalid('options.minLimit', 'must not be above options.maxLimit', o.minLimit)
  if (o.initialLimit < o.minLimit || o.initialLimit > o.maxLimit) {
    throw invalid(
      'options.initialLimit',
      'must be within [options.minLimit, options.maxLimit]',
      o.initialLimit,
    )
  }
}
