import { setMaxListeners } from 'node:events'
import { PgError, Session } from '@hundredfold/pg'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../domain/app-error.js'
import type { TokenSigner } from '../domain/token.js'
import { RequestTiming } from '../request-timing.js'
import type { UserService } from '../services/user-service.js'

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
    /**
     * What every service call takes: `callSignal`, the read-your-writes session of this client, and the
     * request's stage timing (`Server-Timing`; undefined with `HF_SERVER_TIMING=off`).
     */
    ctx: { signal: AbortSignal; session: Session; timing: RequestTiming | undefined }
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
 * session answers with the new token in both, so the author's next read sees the write. With
 * `serverTiming`, each also gets a `RequestTiming` that the services fill in.
 */
export function registerRequestContext(
  app: FastifyInstance,
  deadlineMs: number,
  serverTiming: boolean,
): void {
  app.decorateRequest('callSignal', undefined as unknown as AbortSignal)
  app.decorateRequest('ctx', undefined as unknown as FastifyRequest['ctx'])
  app.decorateRequest('userId', undefined)
  app.addHook('onSend', (request, reply, payload, done) => {
    const token = request.ctx?.session.token
    if (token !== undefined && token !== incomingToken(request).token) {
      reply.header(tokenHeader, token)
      reply.header('set-cookie', `${tokenCookie}=${token}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax`)
    }
    done(null, payload)
  })
  app.addHook('onRequest', (request, reply, done) => {
    const timing = serverTiming ? new RequestTiming() : undefined
    const controller = new AbortController()
    // A page's calls each listen on the request's signal until they settle: more than 10 is no leak.
    setMaxListeners(0, controller.signal)
    const timer = setTimeout(() => controller.abort(new AppError('E_TIMEOUT')), deadlineMs)
    reply.raw.once('close', () => {
      clearTimeout(timer)
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'))
    })
    request.callSignal = controller.signal
    const { token, fromHeader } = incomingToken(request)
    let session: Session
    try {
      session = new Session(token)
    } catch (err) {
      session = new Session()
      request.ctx = { signal: controller.signal, session, timing }
      // A cookie is ours to ignore (stale, or another app's on this host); a header the client sent on
      // purpose is an error, except on the health routes, which never read data.
      if (!fromHeader || unauthenticatedRoutes.has(request.routeOptions.url ?? '')) return done()
      const message = err instanceof PgError ? err.message : 'invalid consistency token'
      return done(new AppError('E_INVALID_TOKEN', message))
    }
    request.ctx = { signal: controller.signal, session, timing }
    done()
  })
}

/** Routes for probes and scrapers: a consistency token that does not parse is ignored there. */
const unauthenticatedRoutes = new Set(['/healthz', '/readyz', '/metrics'])

/**
 * A preHandler that requires `Authorization: Bearer <token>` and sets `request.userId`. The token must
 * carry the user's current token version: logout and password change bump it, revoking older tokens.
 */
export function requireUser(tokens: TokenSigner, users: UserService) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null
    const claims = match ? tokens.verify(match[1]!) : undefined
    if (!claims) throw new AppError('E_UNAUTHENTICATED', 'a valid bearer token is required')
    const user = await users.get(claims.userId, {
      signal: request.callSignal,
      timing: request.ctx.timing,
      fresh: true,
    })
    if (!user || (user.token_version ?? 0) !== claims.version) {
      throw new AppError('E_UNAUTHENTICATED', 'the bearer token was revoked (logout or password change)')
    }
    request.userId = claims.userId
  }
}

/**
 * A request's signal and timing without its read-your-writes session: for reads that may be served by
 * any replica and from L1 (a `/wrk2-api` user by id or name, the authors of a page), and for a sign-in,
 * which reads the primary whatever the session.
 */
export function sessionless(request: FastifyRequest): {
  signal: AbortSignal
  timing: RequestTiming | undefined
} {
  return { signal: request.callSignal, timing: request.ctx.timing }
}

function incomingToken(request: FastifyRequest): { token: string | undefined; fromHeader: boolean } {
  const header = request.headers[tokenHeader]
  if (typeof header === 'string' && header.length > 0) return { token: header, fromHeader: true }
  const cookie = request.headers.cookie
  if (!cookie) return { token: undefined, fromHeader: false }
  const match = /(?:^|;\s*)hf_ct=([^;]+)/.exec(cookie)
  return { token: match?.[1], fromHeader: false }
}
