import type { FastifyInstance } from 'fastify'

/**
 * Answers every request with a `Server-Timing` header (W3C; browsers' developer tools show it) built
 * from its `request.ctx.timing`: the stages it used, and `serialize` (from `preSerialization` to the
 * headers) and `total`. Register it before any other `onSend` hook, so `serialize` ends where
 * serialization does. A request without a timing (`HF_SERVER_TIMING=off`) gets no header.
 *
 * @example
 * registerServerTiming(app)
 * // Server-Timing: cache;dur=0.21;desc="l1=3 l2=0 miss=1", db;dur=1.234;desc="1 statement", serialize;dur=0.05, total;dur=2.1
 */
export function registerServerTiming(app: FastifyInstance): void {
  app.addHook('preSerialization', (request, _reply, payload, done) => {
    const timing = request.ctx?.timing
    if (timing) timing.serializeStartedAt = performance.now()
    done(null, payload)
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    const timing = request.ctx?.timing
    if (timing) {
      timing.finish()
      reply.header('server-timing', timing.header())
    }
    done(null, payload)
  })
}
