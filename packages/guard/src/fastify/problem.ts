import { GuardError, type GuardErrorCode } from '../errors.js'

/** The media type of problem documents (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/**
 * The guard's error catalogue at the HTTP edge: code → status → title. Codes absent here (`E_ABORTED`,
 * `E_INVALID_OPTION`, `E_PEER_MISSING`) are not the client's business: leave them to the app's handler.
 */
export const GUARD_PROBLEMS: Readonly<Partial<Record<GuardErrorCode, { status: number; title: string }>>> =
  Object.freeze({
    E_RATE_LIMITED: { status: 429, title: 'Too many requests; retry after the time given' },
    E_CONCURRENCY_LIMITED: { status: 503, title: 'The server is at its concurrency limit; retry later' },
    E_BULKHEAD_FULL: { status: 503, title: 'A dependency is at capacity; retry later' },
    E_QUEUE_TIMEOUT: { status: 503, title: 'The request waited too long for a dependency; retry later' },
    E_CIRCUIT_OPEN: { status: 503, title: 'A dependency is failing; retry later' },
    E_DEGRADED: { status: 503, title: 'The service is degraded; retry later' },
    E_TIMEOUT: { status: 503, title: 'The request took too long' },
    E_BACKEND: { status: 503, title: 'A shared store is unavailable; retry later' },
    E_DEADLINE_EXCEEDED: { status: 504, title: "The request's deadline passed" },
  })

/** An HTTP answer for a guard error: status, headers and the `application/problem+json` body. */
export interface GuardProblem {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * The problem document for `code`, with `Retry-After` (seconds, rounded up, at least 1) on 429 and 503.
 *
 * @example
 * const { status, headers, body } = guardProblem('E_CONCURRENCY_LIMITED', request.url, { retryAfterMs: 1_000 })
 * reply.code(status).headers(headers).send(body)
 */
export function guardProblem(
  code: GuardErrorCode,
  instance: string,
  options: { detail?: string; retryAfterMs?: number; extra?: Record<string, unknown> } = {},
): GuardProblem {
  const { status, title } = GUARD_PROBLEMS[code] ?? { status: 500, title: 'Internal error' }
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE }
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(1, Math.ceil((options.retryAfterMs ?? 1_000) / 1_000)))
  }
  const body = JSON.stringify({
    type: `urn:hundredfold:problem:${code}`,
    title,
    status,
    code,
    detail: options.detail ?? title,
    instance,
    ...options.extra,
  })
  return { status, headers, body }
}

/**
 * Translates a {@link GuardError} a route threw (a bulkhead full, a breaker open, …) into its problem
 * document, for the app's error handler; `undefined` for anything else.
 *
 * @example
 * app.setErrorHandler((err, request, reply) => {
 *   const problem = problemForGuardError(err, request.url)
 *   if (problem) return reply.code(problem.status).headers(problem.headers).send(problem.body)
 *   throw err
 * })
 */
export function problemForGuardError(error: unknown, instance: string): GuardProblem | undefined {
  if (!(error instanceof GuardError) || GUARD_PROBLEMS[error.code] === undefined) return undefined
  const extra: Record<string, unknown> = {}
  for (const field of [
    'retryAfterMs',
    'limit',
    'remaining',
    'inFlight',
    'queued',
    'maxQueued',
    'switch',
  ] as const) {
    if (error[field] !== undefined) extra[field] = error[field]
  }
  const options: { detail: string; retryAfterMs?: number; extra: Record<string, unknown> } = {
    detail: error.message,
    extra,
  }
  if (error.retryAfterMs !== undefined) options.retryAfterMs = error.retryAfterMs
  return guardProblem(error.code, instance, options)
}
