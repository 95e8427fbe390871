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
    /** The signed-in user's id, set by `requireUser`. */
    userId: string | undefined
  }
}

/** Gives each request its `callSignal` and a deadline of `deadlineMs`. */
export function registerRequestContext(app: FastifyInstance, deadlineMs: number): void {
  app.decorateRequest('callSignal', undefined as unknown as AbortSignal)
  app.decorateRequest('userId', undefined)
  app.addHook('onRequest', (request, reply, done) => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new AppError('E_TIMEOUT')), deadlineMs)
    reply.raw.once('close', () => {
      clearTimeout(timer)
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'))
    })
    request.callSignal = controller.signal
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
