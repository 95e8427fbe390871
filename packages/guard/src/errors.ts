/**
 * Stable codes of {@link GuardError}. Callers match on `code`, never on `message`.
 *
 * - `E_TIMEOUT`: the call did not finish within its timeout (or the request's deadline); `timeoutMs` says which bound.
 * - `E_DEADLINE_EXCEEDED`: the request's deadline had already passed (or left less than the hop's minimum budget) before the call began.
 * - `E_RATE_LIMITED`: a rate limit refused the call; `retryAfterMs`, `limit`, `remaining` and `key` say why and when to retry.
 * - `E_CONCURRENCY_LIMITED`: an adaptive or fixed concurrency limit was reached and the call was shed before any work; `limit`, `inFlight`.
 * - `E_BULKHEAD_FULL`: a bulkhead or worker pool had every slot busy and its bounded queue full; `queued`, `maxQueued`.
 * - `E_QUEUE_TIMEOUT`: a call waited in a bulkhead or pool queue longer than its bound; `waitedMs`.
 * - `E_CIRCUIT_OPEN`: a circuit breaker is open (or half-open with every probe taken); `retryAfterMs` until the next probe.
 * - `E_DEGRADED`: a degradation switch is on and the optional work was skipped; `switch` names it.
 * - `E_BACKEND`: a shared store (e.g. Redis for cluster-wide limits) failed and the policy fails closed; the store's error is the `cause`.
 * - `E_PEER_MISSING`: an entry that needs an optional peer dependency was imported without it.
 * - `E_INVALID_OPTION`: an option failed eager validation; `option` names it.
 * - `E_ABORTED`: the caller's `AbortSignal` fired; the reason is the `cause`.
 */
export type GuardErrorCode =
  | 'E_TIMEOUT'
  | 'E_DEADLINE_EXCEEDED'
  | 'E_RATE_LIMITED'
  | 'E_CONCURRENCY_LIMITED'
  | 'E_BULKHEAD_FULL'
  | 'E_QUEUE_TIMEOUT'
  | 'E_CIRCUIT_OPEN'
  | 'E_DEGRADED'
  | 'E_BACKEND'
  | 'E_PEER_MISSING'
  | 'E_INVALID_OPTION'
  | 'E_ABORTED'

/** Context fields a {@link GuardError} may carry; which ones are set depends on `code`. */
export interface GuardErrorContext {
  /** The policy that refused or failed the call (its `name` option), e.g. `redis-breaker`. */
  policy?: string
  /** `E_TIMEOUT`: the bound that fired, in ms. */
  timeoutMs?: number
  /** `E_RATE_LIMITED`, `E_CIRCUIT_OPEN`, `E_CONCURRENCY_LIMITED`: when a retry may succeed, in ms. */
  retryAfterMs?: number
  /** `E_RATE_LIMITED`: the limit (requests per window), what is left, and the key limited. */
  limit?: number
  remaining?: number
  key?: string
  /** `E_CONCURRENCY_LIMITED`: calls in flight when this one was shed. */
  inFlight?: number
  /** `E_BULKHEAD_FULL`: calls queued, and the queue's bound. */
  queued?: number
  maxQueued?: number
  /** `E_QUEUE_TIMEOUT`: how long the call waited. */
  waitedMs?: number
  /** `E_DEGRADED`: the switch that is on. */
  switch?: string
  /** `E_INVALID_OPTION`: the option's path, e.g. `options.capacity`. */
  option?: string
  /** `E_INVALID_OPTION`: the rejected value (long strings are cut to 64 characters). */
  value?: unknown
}

/**
 * The one error class of `@hundredfold/guard`: a stable `code`, the context fields for that code, and `cause`.
 *
 * @example
 * try {
 *   await policy.execute((signal) => fetchProfile(id, signal))
 * } catch (err) {
 *   if (err instanceof GuardError && err.code === 'E_RATE_LIMITED') reply.header('retry-after', Math.ceil(err.retryAfterMs! / 1000))
 *   else throw err
 * }
 */
export class GuardError extends Error {
  override readonly name = 'GuardError'
  readonly code: GuardErrorCode
  // `declare`: no own property unless the constructor sets one (class fields would define all of them).
  declare readonly policy?: string
  declare readonly timeoutMs?: number
  declare readonly retryAfterMs?: number
  declare readonly limit?: number
  declare readonly remaining?: number
  declare readonly key?: string
  declare readonly inFlight?: number
  declare readonly queued?: number
  declare readonly maxQueued?: number
  declare readonly waitedMs?: number
  declare readonly switch?: string
  declare readonly option?: string
  declare readonly value?: unknown

  constructor(
    code: GuardErrorCode,
    message: string,
    context: GuardErrorContext = {},
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
export function abortedError(signal: AbortSignal): GuardError {
  const reason: unknown = signal.reason
  if (reason instanceof GuardError) return reason
  return new GuardError('E_ABORTED', 'operation aborted', {}, { cause: reason })
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value
}
