import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { GuardError } from '@hundredfold/guard'
import { problemForGuardError } from '@hundredfold/guard/fastify'
import { IdError } from '@hundredfold/id'
import { PgError } from '@hundredfold/pg'
import { ShardError } from '@hundredfold/shard'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, type AppErrorCode, errorCatalogue } from '../domain/app-error.js'

export const problemContentType = 'application/problem+json; charset=utf-8'

/** An RFC 9457 problem document. `code` is the stable field clients match on. */
export interface Problem {
  type: string
  title: string
  status: number
  code: AppErrorCode
  detail: string
  instance: string
  errors?: Array<{ field: string; message: string }>
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: AppErrorCode,
  detail?: string,
  extra: Partial<Problem> = {},
  retryAfterS = 1,
): FastifyReply {
  const entry = errorCatalogue[code]
  const problem: Problem = {
    type: `urn:hundredfold:problem:${code}`,
    title: entry.title,
    status: entry.status,
    code,
    detail: detail ?? entry.title,
    instance: request.url.split('?')[0] ?? request.url,
    ...extra,
  }
  if (entry.status === 503) reply.header('retry-after', String(retryAfterS))
  return reply.code(entry.status).type(problemContentType).send(problem)
}

/** Translates whatever was thrown into a problem document; unknown errors are logged and become E_INTERNAL. */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AppError) {
    return sendProblem(request, reply, error.code, error.message, {}, error.retryAfterS ?? 1)
  }
  if (error instanceof GuardError) {
    // Load shedding, rate limits and full pools answer in the guard's own words (429/503, Retry-After).
    const problem = problemForGuardError(error, request.url.split('?')[0] ?? request.url)
    if (problem) return reply.code(problem.status).headers(problem.headers).send(problem.body)
  }
  if (error instanceof IdError) {
    if (error.code === 'E_INVALID_ID') return sendProblem(request, reply, 'E_INVALID_ID', error.message)
    // The id generator refused (clock stepped back, lease lost): retry, likely on another process.
    request.log.warn({ err: error }, 'id generator refused')
    return sendProblem(request, reply, 'E_UNAVAILABLE', 'ids cannot be issued right now; retry shortly')
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    const errors = fastifyError.validation.map((v) => ({
      field: fieldName(fastifyError.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is not valid',
    }))
    const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ')
    return sendProblem(request, reply, 'E_VALIDATION', detail, { errors })
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(request, reply, 'E_BODY_TOO_LARGE', fastifyError.message)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(request, reply, 'E_UNSUPPORTED_MEDIA_TYPE', fastifyError.message)
    case 'FST_ERR_HANDLER_TIMEOUT':
      return sendProblem(request, reply, 'E_TIMEOUT', fastifyError.message)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendProblem(request, reply, 'E_MALFORMED_BODY', fastifyError.message)
  }
  if (error instanceof SyntaxError || (fastifyError.statusCode === 400 && !(error instanceof PgError))) {
    return sendProblem(request, reply, 'E_MALFORMED_BODY', error.message)
  }
  // A sharded layout's statement failures say which shard; the database's own error is the cause.
  if (error instanceof ShardError) {
    if (error.code === 'E_SHARD_QUERY' && error.cause instanceof PgError) {
      return errorHandler(error.cause, request, reply)
    }
    if (error.code === 'E_ABORTED') {
      const reason = error.cause
      if (reason instanceof AppError) return sendProblem(request, reply, reason.code, reason.message)
      return sendProblem(request, reply, 'E_TIMEOUT')
    }
    // A resharding's switch dropped a database this request's handles were made for: nothing ran there.
    if (error.code === 'E_MAP_CHANGED') return sendProblem(request, reply, 'E_MAP_CHANGED', error.message)
  }
  if (error instanceof PgError) {
    if (error.code === 'E_ABORTED') {
      const reason = error.cause
      if (reason instanceof AppError) return sendProblem(request, reply, reason.code, reason.message)
      return sendProblem(request, reply, 'E_TIMEOUT')
    }
    if (error.code === 'E_STATEMENT_TIMEOUT') {
      request.log.warn({ err: error }, 'statement timed out')
      return sendProblem(request, reply, 'E_TIMEOUT', 'a database statement took too long; retry shortly')
    }
    if (
      error.code === 'E_POOL_TIMEOUT' ||
      error.code === 'E_CONNECT' ||
      error.code === 'E_CONNECTION_LOST' ||
      error.code === 'E_NO_PRIMARY' ||
      error.code === 'E_NO_REPLICA'
    ) {
      request.log.warn({ err: error }, 'database unavailable')
      return sendProblem(request, reply, 'E_UNAVAILABLE', 'the database is unavailable; retry shortly')
    }
  }
  request.log.error({ err: error }, 'unhandled error')
  return sendProblem(request, reply, 'E_INTERNAL', 'an internal error occurred')
}

function fieldName(context: string | undefined, path: string, params: Record<string, unknown>): string {
  const missing = typeof params['missingProperty'] === 'string' ? `/${params['missingProperty']}` : ''
  const pointer = `${path}${missing}`.replace(/^\//, '').replaceAll('/', '.')
  return `${context ?? 'body'}${pointer ? `.${pointer}` : ''}`
}

/** Errors fastify raises before a route runs (a URL it cannot decode, a parameter over `maxParamLength`). */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(request, reply, 'E_URI_TOO_LONG', 'a path parameter is longer than 100 characters')
  }
  return sendProblem(request, reply, 'E_BAD_REQUEST', error.message)
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (a timeout, oversized headers, bytes
 * that are not HTTP): answered as problem+json, then the socket is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code: AppErrorCode =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'E_REQUEST_TIMEOUT'
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? 'E_HEADERS_TOO_LARGE'
        : 'E_BAD_REQUEST'
  const entry = errorCatalogue[code]
  const body = JSON.stringify({
    type: `urn:hundredfold:problem:${code}`,
    title: entry.title,
    status: entry.status,
    code,
    detail: entry.title,
    instance: '',
  })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${entry.status} ${STATUS_CODES[entry.status]}\r\nContent-Type: ${problemContentType}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
