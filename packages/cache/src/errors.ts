import type { BreakerState } from './breaker.js'

/**
 * Stable error codes of `@hundredfold/cache`. Callers match on `code`, never on the message.
 *
 * - `E_INVALID_OPTION`: an option failed eager validation; the message names it.
 * - `E_CACHE_CLOSED`: a call after `close()`.
 * - `E_ABORTED`: the caller's `AbortSignal` fired; the reason is the `cause`.
 * - `E_L2_TIMEOUT`: an L2 call took longer than `l2TimeoutMs` (context `timeoutMs`).
 * - `E_L2_UNAVAILABLE`: the breaker has cut L2 off, so the call was not tried (context `state`).
 * - `E_L2_FAILED`: L2 answered with an error or could not be reached; the driver's error is the `cause`.
 * - `E_L2_DELETES_DROPPED`: over `maxPendingDeletes` deletes waited for L2; the oldest were dropped, L2 is distrusted.
 * - `E_PEER_MISSING`: a driver's optional peer dependency is not installed (context `peer`); the message says what to install.
 */
export type CacheErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_CACHE_CLOSED'
  | 'E_ABORTED'
  | 'E_L2_TIMEOUT'
  | 'E_L2_UNAVAILABLE'
  | 'E_L2_FAILED'
  | 'E_L2_DELETES_DROPPED'
  | 'E_PEER_MISSING'

/** Context fields a {@link CacheError} may carry; which ones are set depends on `code`. */
export interface CacheErrorContext {
  /** `E_L2_TIMEOUT`: the `l2TimeoutMs` the call exceeded. */
  timeoutMs?: number
  /** `E_L2_UNAVAILABLE`: the breaker's state when it refused the call. */
  state?: BreakerState
  /** `E_L2_DELETES_DROPPED`: deletes dropped in this episode so far. */
  droppedDeletes?: number
  /** `E_L2_DELETES_DROPPED`: the `maxPendingDeletes` that was exceeded. */
  maxPendingDeletes?: number
  /** `E_L2_DELETES_DROPPED`: when L2 is trusted again unless more deletes are dropped (unix ms). */
  untrustedUntil?: number
  /** `E_PEER_MISSING`: the package to install. */
  peer?: string
}

/**
 * Every error this package throws. L2 errors never reach a reader: reads fall back to L1 and the
 * loader; they surface only through `stats()` and the `onError` hook. A loader's own error is
 * rethrown unchanged, so the caller matches on its own codes.
 *
 * @example
 * try { await cache.getOrLoad(key, load) }
 * catch (err) { if (err instanceof CacheError && err.code === 'E_ABORTED') return }
 */
export class CacheError extends Error {
  override readonly name = 'CacheError'
  readonly code: CacheErrorCode
  /** Where the error arose, for this `code` (see {@link CacheErrorContext}). */
  readonly context: Readonly<CacheErrorContext>

  constructor(
    code: CacheErrorCode,
    message: string,
    options: { cause?: unknown; context?: CacheErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.context = Object.freeze({ ...options.context })
  }
}

/** Turns an abort reason into a `CacheError` with code `E_ABORTED`, keeping the reason as `cause`. @internal */
export function abortError(signal: AbortSignal, context: CacheErrorContext = {}): CacheError {
  return new CacheError('E_ABORTED', 'the operation was aborted', { cause: signal.reason, context })
}
