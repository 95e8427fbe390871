/** Stable error codes of `@hundredfold/pg`. Callers match on `code`, never on the message. */
export type PgErrorCode =
  | 'E_POOL_TIMEOUT'
  | 'E_POOL_CLOSED'
  | 'E_ABORTED'
  | 'E_CONNECT'
  | 'E_QUERY'
  | 'E_CONNECTION_LOST'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_TOKEN'
  | 'E_NO_PRIMARY'
  | 'E_NO_REPLICA'

/**
 * Every error this package throws. `code` is stable; the remaining fields are context.
 *
 * @example
 * try { await cluster.write('insert into t values ($1)', [1]) }
 * catch (err) { if (err instanceof PgError && err.sqlState === '23505') conflict() }
 */
export class PgError extends Error {
  override readonly name = 'PgError'
  readonly code: PgErrorCode
  /** The PostgreSQL SQLSTATE (e.g. `23505` unique violation) when the server rejected a statement. */
  readonly sqlState: string | undefined
  /** The constraint the server named, if any. */
  readonly constraint: string | undefined
  /** Where the error arose: a host label, a pool, a timeout. */
  readonly context: Readonly<Record<string, unknown>>

  constructor(
    code: PgErrorCode,
    message: string,
    options: {
      cause?: unknown
      sqlState?: string
      constraint?: string
      context?: Record<string, unknown>
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.sqlState = options.sqlState
    this.constraint = options.constraint
    this.context = Object.freeze({ ...options.context })
  }
}

/** Turns an abort reason into a `PgError` with code `E_ABORTED`, keeping the reason as `cause`. */
export function abortError(signal: AbortSignal, context: Record<string, unknown> = {}): PgError {
  return new PgError('E_ABORTED', 'operation aborted', { cause: signal.reason, context })
}

interface ServerErrorShape {
  code?: unknown
  message?: unknown
  constraint?: unknown
  detail?: unknown
}

/** Wraps an error raised by a driver while running a statement. SQLSTATE and constraint are kept. */
export function queryError(err: unknown, context: Record<string, unknown>): PgError {
  if (err instanceof PgError) return err
  const shape = (typeof err === 'object' && err !== null ? err : {}) as ServerErrorShape
  const sqlState = typeof shape.code === 'string' && /^[0-9A-Z]{5}$/.test(shape.code) ? shape.code : undefined
  const message = typeof shape.message === 'string' ? shape.message : String(err)
  return new PgError('E_QUERY', message, {
    cause: err,
    ...(sqlState === undefined ? {} : { sqlState }),
    ...(typeof shape.constraint === 'string' ? { constraint: shape.constraint } : {}),
    context,
  })
}
