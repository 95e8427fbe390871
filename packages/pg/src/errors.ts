/**
 * Stable error codes of `@hundredfold/pg`. Callers match on `code`, never on the message.
 *
 * - `E_POOL_TIMEOUT`: no session within `acquireTimeoutMs`, or `maxWaiting` callers already wait.
 * - `E_POOL_CLOSED`: the cluster (or the pool, or the `asPool()` client) was ended or released.
 * - `E_ABORTED`: the caller's `AbortSignal` fired; its reason is the `cause`.
 * - `E_CONNECT`: the server cannot be reached (or PGlite cannot be opened).
 * - `E_QUERY`: the server rejected the statement; `sqlState` (e.g. `23505`) and `constraint` say why.
 * - `E_STATEMENT_TIMEOUT`: the server cancelled the statement (SQLSTATE `57014`): `statementTimeoutMs` passed, or someone cancelled it.
 * - `E_CONNECTION_LOST`: the session died mid-statement; the statement's outcome is unknown.
 * - `E_TRANSACTION_CONTROL`: `BEGIN`, `COMMIT`, `SAVEPOINT`… sent to `asPool().query()`; transactions go through `connect()`.
 * - `E_INVALID_OPTION`: an option failed eager validation; the message names it.
 * - `E_INVALID_TOKEN`: a consistency token is not a WAL LSN like `0/3000148`.
 * - `E_NO_PRIMARY`: no read-write primary is known right now (failover under way); retryable.
 * - `E_HOST_DOWN`: the host a read ran on was marked down while it ran (the reason of {@link Host.downSignal}); the cluster retries the read elsewhere, so callers see it only as a `cause`.
 * - `E_NO_REPLICA`: no replica is fit to read and `routing.whenNoReplica` is `'error'`; retryable.
 * - `E_PEER_MISSING`: a driver entry (`@hundredfold/pg/pglite`, `@hundredfold/pg/node-postgres`) was imported without its optional peer installed; `context.peer` names it, the message says what to install.
 */
export type PgErrorCode =
  | 'E_POOL_TIMEOUT'
  | 'E_POOL_CLOSED'
  | 'E_ABORTED'
  | 'E_CONNECT'
  | 'E_QUERY'
  | 'E_STATEMENT_TIMEOUT'
  | 'E_CONNECTION_LOST'
  | 'E_TRANSACTION_CONTROL'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_TOKEN'
  | 'E_NO_PRIMARY'
  | 'E_NO_REPLICA'
  | 'E_HOST_DOWN'
  | 'E_PEER_MISSING'

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

/** SQLSTATE `query_canceled`: what `statement_timeout` and a cancel request end a statement with. */
const QUERY_CANCELED = '57014'

/**
 * Wraps an error raised by a driver while running a statement. SQLSTATE and constraint are kept;
 * `57014` becomes `E_STATEMENT_TIMEOUT`, every other server error `E_QUERY`.
 */
export function queryError(err: unknown, context: Record<string, unknown>): PgError {
  if (err instanceof PgError) return err
  const shape = (typeof err === 'object' && err !== null ? err : {}) as ServerErrorShape
  const sqlState = typeof shape.code === 'string' && /^[0-9A-Z]{5}$/.test(shape.code) ? shape.code : undefined
  const message = typeof shape.message === 'string' ? shape.message : String(err)
  if (sqlState === QUERY_CANCELED) {
    // statement_timeout or a cancel request: the session and the server are fine, the statement is not.
    return new PgError('E_STATEMENT_TIMEOUT', `the server cancelled the statement: ${message}`, {
      cause: err,
      sqlState,
      context,
    })
  }
  return new PgError('E_QUERY', message, {
    cause: err,
    ...(sqlState === undefined ? {} : { sqlState }),
    ...(typeof shape.constraint === 'string' ? { constraint: shape.constraint } : {}),
    context,
  })
}
