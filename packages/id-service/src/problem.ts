import { IdError, type IdErrorCode } from '@hundredfold/id'
import type { ServiceResponse } from './service-response.js'

/**
 * The stable codes the ID service answers with: `@hundredfold/id`'s (see `IdErrorCode`) plus the edge's own.
 *
 * - `E_INVALID_COUNT`: `count` of `GET /ids` is not an integer in 1..maxCount, or is repeated.
 * - `E_NOT_FOUND`: no such route.
 * - `E_METHOD_NOT_ALLOWED`: a served path asked for with a method other than GET or HEAD (`Allow` says which).
 * - `E_NOT_READY`: `/readyz` while the worker-id lease is not valid.
 * - `E_BAD_REQUEST`: node:http's parser refused the request (bad syntax, an unknown HTTP version, a bare LF,
 *   `Content-Length` beside `Transfer-Encoding`, …).
 * - `E_REQUEST_TIMEOUT`: the request head (or the whole request) did not arrive within its timeout.
 * - `E_HEADERS_TOO_LARGE`: the request head is over `maxHeaderSize`.
 * - `E_INTERNAL`: an unexpected error, told to the logger.
 */
export type ServiceErrorCode =
  | IdErrorCode
  | 'E_INVALID_COUNT'
  | 'E_NOT_FOUND'
  | 'E_METHOD_NOT_ALLOWED'
  | 'E_NOT_READY'
  | 'E_BAD_REQUEST'
  | 'E_REQUEST_TIMEOUT'
  | 'E_HEADERS_TOO_LARGE'
  | 'E_INTERNAL'

/** code → HTTP status and title: the one error catalogue at the edge. */
export const SERVICE_ERRORS: Readonly<Record<ServiceErrorCode, { status: number; title: string }>> =
  Object.freeze({
    E_INVALID_COUNT: { status: 400, title: 'count must be an integer in 1..maxCount' },
    E_INVALID_ID: { status: 400, title: 'not a valid id' },
    E_INVALID_OPTION: { status: 400, title: 'invalid option' },
    E_BAD_REQUEST: { status: 400, title: 'malformed HTTP request' },
    E_NOT_FOUND: { status: 404, title: 'no such route' },
    E_METHOD_NOT_ALLOWED: { status: 405, title: 'method not allowed' },
    E_REQUEST_TIMEOUT: { status: 408, title: 'the request did not arrive in time' },
    E_HEADERS_TOO_LARGE: { status: 431, title: 'the request head is too large' },
    E_CLOCK_BACKWARDS: { status: 503, title: 'the clock stepped back; refusing to issue ids' },
    E_CLOCK_BEHIND_LEASE: { status: 503, title: 'the clock is behind the worker id lease' },
    E_CLOCK_AHEAD_OF_LEASE: { status: 503, title: 'the clock jumped past what the lease covers' },
    E_LEASE_LOST: { status: 503, title: 'the worker id lease was lost; refusing to issue ids' },
    E_LEASE_RELEASED: { status: 503, title: 'the worker id lease was released; shutting down' },
    E_NOT_READY: { status: 503, title: 'not ready to issue ids' },
    E_NO_WORKER_ID: { status: 503, title: 'no worker id is free' },
    E_LEASE_STORE: { status: 503, title: 'the lease store is unavailable' },
    E_ID_SERVICE: { status: 502, title: 'an upstream ID service failed' },
    E_ABORTED: { status: 503, title: 'the request was aborted' },
    E_TIMESTAMP_OUT_OF_RANGE: { status: 500, title: 'the clock is outside the id range' },
    E_INTERNAL: { status: 500, title: 'an internal error occurred' },
  })

/** The media type of problem documents (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

const RETRY_LATER: Readonly<Record<string, string>> = Object.freeze({ 'Retry-After': '1' })

/**
 * `code` as an `application/problem+json` response; 503s carry `Retry-After: 1`.
 *
 * @example
 * problem('E_NOT_FOUND', '/nowhere', 'no route GET /nowhere') // { status: 404, body: '{"type":…}', … }
 */
export function problem(
  code: ServiceErrorCode,
  instance: string,
  detail?: string,
  extra: Record<string, unknown> = {},
  headers?: Readonly<Record<string, string>>,
): ServiceResponse {
  const { status, title } = SERVICE_ERRORS[code]
  const body = JSON.stringify({
    type: `urn:hundredfold:problem:${code}`,
    title,
    status,
    code,
    detail: detail ?? title,
    instance,
    ...extra,
  })
  return {
    status,
    contentType: PROBLEM_CONTENT_TYPE,
    body,
    ...(status === 503 ? { headers: { ...RETRY_LATER, ...headers } } : headers ? { headers } : {}),
  }
}

/** Translates what a route threw: an `IdError` by its code (with its context), anything else as `E_INTERNAL`. */
export function problemFor(error: unknown, instance: string): ServiceResponse {
  if (error instanceof IdError) {
    const extra: Record<string, unknown> = {}
    if (error.backwardsMs !== undefined) extra['backwardsMs'] = error.backwardsMs
    if (error.workerId !== undefined) extra['workerId'] = error.workerId
    return problem(error.code, instance, error.message, extra)
  }
  return problem('E_INTERNAL', instance)
}
