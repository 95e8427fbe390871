/**
 * Stable error codes of `@hundredfold/queue`. Callers match on `code`, never on the message.
 *
 * - `E_INVALID_OPTION`: an option failed eager validation, or conflicts with the stream on the broker
 *   (`storage` and `retention` cannot change on a live stream).
 * - `E_ABORTED`: the caller's `AbortSignal` fired; the reason is the `cause`.
 * - `E_CLOSED`: the queue was drained or the connection closed.
 * - `E_CONNECT`: the broker cannot be reached.
 * - `E_PUBLISH`: the broker did not acknowledge the message; it may be stored: retry with the same id.
 * - `E_STREAM_FULL`: a stream with `discard: 'new'` is at `maxBytes` or `maxMessages` (or the server's
 *   JetStream storage is full) and refused the message: it is not stored. Retry later (HTTP: 503).
 *   `context.limit` is `maxBytes`, `maxMessages` or `storage`.
 * - `E_NO_STREAM`: no stream stores the subject, or the stream named does not exist.
 * - `E_NO_CONSUMER`: the consumer does not exist (or was deleted while fetching).
 * - `E_BROKER`: any other broker answer (its message is in `message`, the original in `cause`).
 * - `E_PEER_MISSING`: an export entry was imported without an optional peer dependency it needs
 *   (`@hundredfold/queue/jetstream`: `@nats-io/jetstream`, `@nats-io/nats-core`,
 *   `@nats-io/transport-node`; `@hundredfold/queue/testing`: `vitest`). `context.peer` names it; the
 *   message names every one missing and the `npm install` that adds them.
 */
export type QueueErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_ABORTED'
  | 'E_CLOSED'
  | 'E_CONNECT'
  | 'E_PUBLISH'
  | 'E_STREAM_FULL'
  | 'E_NO_STREAM'
  | 'E_NO_CONSUMER'
  | 'E_BROKER'
  | 'E_PEER_MISSING'

/** Context fields a {@link QueueError} may carry; which ones are set depends on `code` and where it arose. */
export interface QueueErrorContext {
  /** The stream concerned. */
  stream?: string
  /** The consumer's durable name. */
  consumer?: string
  /** The subject published to. */
  subject?: string
  /** `E_PUBLISH`, `E_STREAM_FULL`: the message id of the message that failed. */
  id?: string | undefined
  /** `publishBatch()`: the position of the message that failed. */
  index?: number
  /** `publishBatch()`: how many messages the batch had. */
  messages?: number
  /** `E_STREAM_FULL`: the limit reached. */
  limit?: 'maxBytes' | 'maxMessages' | 'storage'
  /** `E_PUBLISH`, `E_STREAM_FULL`: the broker's description of the refusal. */
  error?: string
  /** `E_INVALID_OPTION`: the option concerned (`storage`, `retention`), what was asked for and what the broker has. */
  option?: string
  requested?: string
  existing?: string
  /** `E_BROKER` (in-process): the consumer a new one overlaps on a `workqueue` stream. */
  overlaps?: string
  /** `E_CONNECT`: where the driver tried to connect. */
  servers?: string | string[]
  /** `E_PEER_MISSING`: the optional peer dependency not installed (the first, when several are missing). */
  peer?: string
}

/** What a {@link QueueError} carries besides its code and message. */
export interface QueueErrorOptions {
  /** The error that caused it (a broker's answer, an abort reason). */
  cause?: unknown
  /** Where it arose. */
  context?: QueueErrorContext
}

/**
 * Every error this package throws: a stable `code`, the {@link QueueErrorContext} fields saying where it
 * arose, and the original error as `cause`.
 *
 * @example
 * try { await stream.publish({ key, data, id }) }
 * catch (err) { if (err instanceof QueueError && err.code === 'E_PUBLISH') retryLater() }
 */
export class QueueError extends Error {
  override readonly name = 'QueueError'
  readonly code: QueueErrorCode
  /** Where the error arose: a stream, a consumer, a subject. */
  readonly context: Readonly<QueueErrorContext>

  constructor(code: QueueErrorCode, message: string, { cause, context }: QueueErrorOptions = {}) {
    // No `cause` given means none at all, not an own `cause: undefined`.
    super(message, cause === undefined ? undefined : { cause })
    this.code = code
    this.context = Object.freeze({ ...context })
  }
}

/** Throws `E_ABORTED` (the abort reason as `cause`) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context: QueueErrorContext = {}): void {
  if (signal?.aborted) throw abortError(signal, context)
}

/** Turns an abort reason into a `QueueError` with code `E_ABORTED`. */
export function abortError(signal: AbortSignal, context: QueueErrorContext = {}): QueueError {
  return new QueueError('E_ABORTED', 'operation aborted', { cause: signal.reason, context })
}

/** Settles with `promise`, or rejects with `E_ABORTED` as soon as `signal` fires. */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  context: QueueErrorContext = {},
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
