/**
 * Stable codes of {@link BalanceError}. Callers match on `code`, never on `message`.
 *
 * - `E_NO_ENDPOINTS`: there is no endpoint to send to (discovery found none, or all were removed).
 * - `E_ALL_EJECTED`: no endpoint other than the ones already tried is left for a retry.
 * - `E_RETRY_BUDGET`: a try failed and could be retried, but the retry budget is spent; the try's error is the `cause`.
 * - `E_TRY_TIMEOUT`: one try took longer than `perTryTimeoutMs` and was not retried.
 * - `E_DEADLINE`: the caller's `AbortSignal` fired with a timeout (`AbortSignal.timeout`); the reason is the `cause`.
 * - `E_ABORTED`: the caller aborted the request; the reason is the `cause`.
 * - `E_CLOSED`: the balancer was closed or destroyed.
 * - `E_INVALID_OPTION`: an option failed eager validation.
 * - `E_DISCOVERY`: a discovery source failed (DNS lookup, file read, Kubernetes API); the underlying error is the `cause`.
 * - `E_HEALTH_CHECK`: an active health check failed (given to `onError` only); the underlying error is the `cause`.
 */
export type BalanceErrorCode =
  | 'E_NO_ENDPOINTS'
  | 'E_ALL_EJECTED'
  | 'E_RETRY_BUDGET'
  | 'E_TRY_TIMEOUT'
  | 'E_DEADLINE'
  | 'E_ABORTED'
  | 'E_CLOSED'
  | 'E_INVALID_OPTION'
  | 'E_DISCOVERY'
  | 'E_HEALTH_CHECK'

/** Context fields a {@link BalanceError} may carry; which ones are set depends on `code`. */
export interface BalanceErrorContext {
  /** Request errors: the origin of the endpoint of the last try, when there was one. */
  endpoint?: string
  /** Request errors: how many tries were made (1 = no retry). */
  attempts?: number
  /** `E_TRY_TIMEOUT`: the per-try timeout that fired, in ms. */
  timeoutMs?: number
  /** `E_DISCOVERY`: which source failed (`dns`, `file`, `kubernetes`, …). */
  source?: string
  /** `E_INVALID_OPTION`: the option's path, e.g. `options.picker`. */
  option?: string
  /** `E_INVALID_OPTION`: the rejected value (long strings are cut to 64 characters). */
  value?: unknown
}

/**
 * The one error class of `@hundredfold/balance`: a stable `code`, the context fields for that code, and `cause`.
 * Errors of a try that is not retried (a refused connection, a reset) reach the caller as they are, as
 * undici raised them; `BalanceError` is for what the balancer itself decides.
 *
 * @example
 * try {
 *   await balancer.request({ path: '/users/1', method: 'GET' })
 * } catch (err) {
 *   if (err instanceof BalanceError && err.code === 'E_RETRY_BUDGET') shed()
 *   else throw err
 * }
 */
export class BalanceError extends Error {
  override readonly name = 'BalanceError'
  readonly code: BalanceErrorCode
  readonly endpoint?: string
  readonly attempts?: number
  readonly timeoutMs?: number
  readonly source?: string
  readonly option?: string
  readonly value?: unknown

  constructor(
    code: BalanceErrorCode,
    message: string,
    context: BalanceErrorContext = {},
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

/** An `E_INVALID_OPTION` error naming the option. @internal */
export function invalidOption(option: string, message: string, value: unknown): BalanceError {
  return new BalanceError('E_INVALID_OPTION', `${option} ${message}`, { option, value })
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value
}
