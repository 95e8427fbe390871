import type { FastifyInstance } from 'fastify'

// A fixed body of exactly 1024 bytes, serialised once.
const filler = 'x'.repeat(1024 - JSON.stringify({ ok: true, payload: '' }).length)
const body = JSON.stringify({ ok: true, payload: filler })

/**
 * `GET /ceiling`: the same server stack with no work behind it. The bench compares each
 * workload's sustainable throughput with this route's to show how close the system is to its stack's limit.
 */
export function ceilingRoute(app: FastifyInstance): void {
  app.get('/ceiling', (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(body)
  })
}
