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
