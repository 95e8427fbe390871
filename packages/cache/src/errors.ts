/** Stable error codes of `@hundredfold/cache`. Callers match on `code`, never on the message. */
export type CacheErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_CACHE_CLOSED'
  | 'E_ABORTED'
  | 'E_L2_TIMEOUT'
  | 'E_L2_UNAVAILABLE'
  | 'E_L2_FAILED'

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
  /** Where the error arose: the key, the tier, a timeout. */
  readonly context: Readonly<Record<string, unknown>>

  constructor(
    code: CacheErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.context = Object.freeze({ ...options.context })
  }
}

/** Turns an abort reason into a `CacheError` with code `E_ABORTED`, keeping the reason as `cause`. */
export function abortError(signal: AbortSignal, context: Record<string, unknown> = {}): CacheError {
  return new CacheError('E_ABORTED', 'the operation was aborted', { cause: signal.reason, context })
}
