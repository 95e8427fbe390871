import { PgError, Session } from '@hundredfold/pg'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../domain/app-error.js'
import type { TokenSigner } from '../domain/token.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Aborted when the client goes away before the reply is written, or when the request's deadline
     * passes (reason: `AppError('E_TIMEOUT')`). Every service call takes it.
     *
     * (fastify's own `request.signal` listens to the request stream's 'close', which Node 20 emits as
     * soon as a body has been read, so it aborts every POST: it is not used.)
     */
    callSignal: AbortSignal
    /** What every service call takes: `callSignal`, and the read-your-writes session of this client. */
    ctx: { signal: AbortSignal; session: Session }
    /** The signed-in user's id, set by `requireUser`. */
    userId: string | undefined
  }
}

/** The header (and cookie) that carries a client's consistency token between requests and processes. */
export const tokenHeader = 'x-consistency-token'
const tokenCookie = 'hf_ct'

/**
 * Gives each request its `callSignal` (a deadline of `deadlineMs`) and its read-your-writes session,
 * resumed from the `x-consistency-token` header or `hf_ct` cookie; a request that wrote through the
 * session answers with the new token in both, so the author's next read sees the write.
 */
export function registerRequestContext(app: FastifyInstance, deadlineMs: number): void {
  app.decorateRequest('callSignal', undefined as unknown as AbortSignal)
  app.decorateRequest('ctx', undefined as unknown as FastifyRequest['ctx'])
  app.decorateRequest('userId', undefined)
  app.addHook('onSend', (request, reply, payload, done) => {
    const token = request.ctx?.session.token
    if (token !== undefined && token !== incomingToken(request)) {
      reply.header(tokenHeader, token)
      reply.header('set-cookie', `${tokenCookie}=${token}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax`)
    }
    done(null, payload)
  })
  app.addHook('onRequest', (request, reply, done) => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new AppError('E_TIMEOUT')), deadlineMs)
    reply.raw.once('close', () => {
      clearTimeout(timer)
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'))
    })
    request.callSignal = controller.signal
    let session: Session
    try {
      session = new Session(incomingToken(request))
    } catch (err) {
      session = new Session()
      request.ctx = { signal: controller.signal, session }
      const message = err instanceof PgError ? err.message : 'invalid consistency token'
      return done(new AppError('E_INVALID_TOKEN', message))
    }
    request.ctx = { signal: controller.signal, session }
    done()
  })
}

/** A preHandler that requires `Authorization: Bearer <token>` and sets `request.userId`. */
export function requireUser(tokens: TokenSigner) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const header = request.headers.authorization
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null
    const userId = match ? tokens.verify(match[1]!) : undefined
    if (!userId) return done(new AppError('E_UNAUTHENTICATED', 'a valid bearer token is required'))
    request.userId = userId
    done()
  }
}

function incomingToken(request: FastifyRequest): string | undefined {
  const header = request.headers[tokenHeader]
  if (typeof header === 'string' && header.length > 0) return header
  const cookie = request.headers.cookie
  if (!cookie) return undefined
  const match = /(?:^|;\s*)hf_ct=([^;]+)/.exec(cookie)
  return match?.[1]
}
