import type { FastifyReply } from 'fastify'
import { IdError, type IdErrorCode } from '../errors.js'

/** The stable codes the ID service answers with: the library's plus the edge's own. */
export type ServiceErrorCode = IdErrorCode | 'E_INVALID_COUNT' | 'E_NOT_FOUND' | 'E_NOT_READY' | 'E_INTERNAL'

/** code → HTTP status and title: the one error catalogue at the edge. */
export const SERVICE_ERRORS: Readonly<Record<ServiceErrorCode, { status: number; title: string }>> =
  Object.freeze({
    E_INVALID_COUNT: { status: 400, title: 'count must be an integer in 1..maxCount' },
    E_INVALID_ID: { status: 400, title: 'not a valid id' },
    E_INVALID_OPTION: { status: 400, title: 'invalid option' },
    E_NOT_FOUND: { status: 404, title: 'no such route' },
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

/** Sends `code` as an `application/problem+json` document; 503s carry `Retry-After: 1`. */
export function sendProblem(
  reply: FastifyReply,
  code: ServiceErrorCode,
  detail?: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const entry = SERVICE_ERRORS[code]
  if (entry.status === 503) reply.header('retry-after', '1')
  return reply
    .code(entry.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: `urn:hundredfold:problem:${code}`,
      title: entry.title,
      status: entry.status,
      code,
      detail: detail ?? entry.title,
      instance: reply.request.url.split('?')[0],
      ...extra,
    })
}

/** Translates what a handler threw: an `IdError` by its code, anything else as `E_INTERNAL`. */
export function problemFor(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof IdError) {
    const extra: Record<string, unknown> = {}
    if (error.backwardsMs !== undefined) extra['backwardsMs'] = error.backwardsMs
    if (error.workerId !== undefined) extra['workerId'] = error.workerId
    return sendProblem(reply, error.code, error.message, extra)
  }
  const status = (error as { statusCode?: number }).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return reply
      .code(status)
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: 'about:blank',
        title: (error as Error).message,
        status,
        code: 'E_BAD_REQUEST',
        detail: (error as Error).message,
        instance: reply.request.url.split('?')[0],
      })
  }
  reply.request.log.error({ err: error }, 'unhandled error')
  return sendProblem(reply, 'E_INTERNAL')
}
