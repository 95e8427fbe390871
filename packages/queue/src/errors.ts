/** Stable error codes of `@hundredfold/queue`. Callers match on `code`, never on the message. */
export type QueueErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_ABORTED'
  | 'E_CLOSED'
  | 'E_CONNECT'
  | 'E_PUBLISH'
  | 'E_NO_STREAM'
  | 'E_NO_CONSUMER'
  | 'E_BROKER'

/**
 * Every error this package throws. `code` is stable; `context` says where it arose.
 *
 * @example
 * try { await stream.publish({ key, data, id }) }
 * catch (err) { if (err instanceof QueueError && err.code === 'E_PUBLISH') retryLater() }
 */
export class QueueError extends Error {
  override readonly name = 'QueueError'
  readonly code: QueueErrorCode
  /** Where the error arose: a stream, a consumer, a subject. */
  readonly context: Readonly<Record<string, unknown>>

  constructor(
    code: QueueErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.context = Object.freeze({ ...options.context })
  }
}

/** Throws `E_ABORTED` (the abort reason as `cause`) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context: Record<string, unknown> = {}): void {
  if (signal?.aborted) throw abortError(signal, context)
}

/** Turns an abort reason into a `QueueError` with code `E_ABORTED`. */
export function abortError(signal: AbortSignal, context: Record<string, unknown> = {}): QueueError {
  return new QueueError('E_ABORTED', 'operation aborted', { cause: signal.reason, context })
}

/** Settles with `promise`, or rejects with `E_ABORTED` as soon as `signal` fires. */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  context: Record<string, unknown> = {},
): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) {
    promise.catch(() => {})
    return Promise.reject(abortError(signal, context))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {})
      reject(abortError(signal, context))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
