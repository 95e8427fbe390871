/**
 * Stable codes of {@link IdError}. Callers match on `code`, never on `message`.
 *
 * - `E_CLOCK_BACKWARDS`: the clock reads earlier than the last issued timestamp.
 * - `E_TIMESTAMP_OUT_OF_RANGE`: the clock is before the epoch or past the 41-bit range (year ~2093 with the default epoch).
 * - `E_INVALID_OPTION`: an option failed eager validation.
 * - `E_INVALID_ID`: a value is not a valid id (not a decimal string of 1..19 digits, negative, or above 2^63-1).
 */
export type IdErrorCode =
  | 'E_CLOCK_BACKWARDS'
  | 'E_TIMESTAMP_OUT_OF_RANGE'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_ID'

/** Context fields an {@link IdError} may carry; which ones are set depends on `code`. */
export interface IdErrorContext {
  /** `E_CLOCK_BACKWARDS`: the last timestamp an id was issued for (unix ms). */
  lastTimestamp?: number
  /** `E_CLOCK_BACKWARDS`, `E_TIMESTAMP_OUT_OF_RANGE`: what the clock read (unix ms). */
  now?: number
  /** `E_CLOCK_BACKWARDS`: how far the clock went back, in ms. */
  backwardsMs?: number
  /** `E_TIMESTAMP_OUT_OF_RANGE`: the generator's epoch (unix ms). */
  epoch?: number
  /** `E_INVALID_OPTION`: the option's path, e.g. `options.workerId`. */
  option?: string
  /** `E_INVALID_OPTION`, `E_INVALID_ID`: the rejected value (long strings are cut to 64 characters). */
  value?: unknown
}

/**
 * The one error class of `@hundredfold/id`: a stable `code`, the context fields for that code, and `cause`.
 *
 * @example
 * try {
 *   id = snowflake.next()
 * } catch (err) {
 *   if (err instanceof IdError && err.code === 'E_CLOCK_BACKWARDS') retryLater(err.backwardsMs)
 *   else throw err
 * }
 */
export class IdError extends Error {
  override readonly name = 'IdError'
  readonly code: IdErrorCode
  readonly lastTimestamp?: number
  readonly now?: number
  readonly backwardsMs?: number
  readonly epoch?: number
  readonly option?: string
  readonly value?: unknown

  constructor(
    code: IdErrorCode,
    message: string,
    context: IdErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.code = code
    if (context.lastTimestamp !== undefined) this.lastTimestamp = context.lastTimestamp
    if (context.now !== undefined) this.now = context.now
    if (context.backwardsMs !== undefined) this.backwardsMs = context.backwardsMs
    if (context.epoch !== undefined) this.epoch = context.epoch
    if (context.option !== undefined) this.option = context.option
    if ('value' in context) this.value = shorten(context.value)
  }
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value
}
