import { IdError } from './errors.js'
import { MAX_TIMESTAMP } from './layout.js'

const MAX_EPOCH = Number.MAX_SAFE_INTEGER - MAX_TIMESTAMP

/** Eagerly validates an epoch option; the message names the option. @internal */
export function checkEpoch(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_EPOCH) {
    throw new IdError('E_INVALID_OPTION', `${option} must be a non-negative integer of unix milliseconds`, {
      option,
      value,
    })
  }
  return value
}

/** Eagerly validates an integer option in `min..max`; the message names the option. @internal */
export function checkInteger(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`
    throw new IdError('E_INVALID_OPTION', `${option} must be an integer ${range}`, { option, value })
  }
  return value
}

/** Eagerly validates a function option; the message names the option and what it must return. @internal */
export function checkFunction<F>(value: F, option: string, what: string): F {
  if (typeof value !== 'function') {
    throw new IdError('E_INVALID_OPTION', `${option} must be a function ${what}`, { option, value })
  }
  return value
}
