/**
 * Stable codes of {@link IdError}. Callers match on `code`, never on `message`.
 *
 * - `E_CLOCK_BACKWARDS`: the clock reads earlier than the last issued timestamp by more than the tolerated step.
 * - `E_CLOCK_BEHIND_LEASE`: a newly leased worker id was last used at a timestamp later than this clock reads.
 * - `E_CLOCK_AHEAD_OF_LEASE`: the clock jumped past the timestamp the last lease renewal covers; ids resume after the next renewal.
 * - `E_TIMESTAMP_OUT_OF_RANGE`: the clock is before the epoch or past the 41-bit range (year ~2093 with the default epoch).
 * - `E_LEASE_LOST`: the worker-id lease was taken over or not renewed in time; the generator issues no more ids.
 * - `E_LEASE_RELEASED`: the lease was released by its holder; the generator issues no more ids.
 * - `E_NO_WORKER_ID`: every worker id stayed leased or in quarantine for as long as the caller would wait.
 * - `E_LEASE_STORE`: the lease store failed (unreachable, timed out, rejected a statement).
 * - `E_ID_SERVICE`: the ID service answered with an error or could not be reached (client side).
 * - `E_ABORTED`: the caller's `AbortSignal` fired; the reason is the `cause`.
 * - `E_INVALID_OPTION`: an option failed eager validation.
 * - `E_INVALID_ID`: a value is not a valid id (not a decimal string of 1..19 digits, negative, or above 2^63-1).
 */
export type IdErrorCode =
  | 'E_CLOCK_BACKWARDS'
  | 'E_CLOCK_BEHIND_LEASE'
  | 'E_CLOCK_AHEAD_OF_LEASE'
  | 'E_TIMESTAMP_OUT_OF_RANGE'
  | 'E_LEASE_LOST'
  | 'E_LEASE_RELEASED'
  | 'E_NO_WORKER_ID'
  | 'E_LEASE_STORE'
  | 'E_ID_SERVICE'
  | 'E_ABORTED'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_ID'

/** Context fields an {@link IdError} may carry; which ones are set depends on `code`. */
export interface IdErrorContext {
  /** `E_CLOCK_BACKWARDS`, `E_CLOCK_BEHIND_LEASE`: the last timestamp an id was issued for (unix ms). */
  lastTimestamp?: number
  /** `E_CLOCK_BACKWARDS`, `E_CLOCK_BEHIND_LEASE`, `E_TIMESTAMP_OUT_OF_RANGE`: what the clock read (unix ms). */
  now?: number
  /** `E_CLOCK_BACKWARDS`, `E_CLOCK_BEHIND_LEASE`: how far the clock is behind `lastTimestamp`, in ms. */
  backwardsMs?: number
  /** `E_TIMESTAMP_OUT_OF_RANGE`: the generator's epoch (unix ms). */
  epoch?: number
  /** Lease and clock errors: the worker id concerned. */
  workerId?: number
  /** `E_LEASE_LOST`, `E_LEASE_RELEASED`: the fencing token of the lease that ended. */
  fencingToken?: number
  /** `E_ID_SERVICE`: the HTTP status, when the service answered. */
  status?: number
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
  readonly workerId?: number
  readonly fencingToken?: number
  readonly status?: number
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
    // Only the fields given become own properties; a given `value` is kept even when undefined.
    const fields = this as Record<string, unknown>
    for (const [field, value] of Object.entries(context)) {
      if (field === 'value') fields[field] = shorten(value)
      else if (value !== undefined) fields[field] = value
    }
  }
}

/** The `E_ABORTED` error for a fired signal, keeping its reason as `cause`. @internal */
export function abortedError(signal: AbortSignal): IdError {
  const reason: unknown = signal.reason
  if (reason instanceof IdError) return reason
  return new IdError('E_ABORTED', 'operation aborted', {}, { cause: reason })
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value
}
