import type { Cluster } from '@hundredfold/pg'
import type { FastifyInstance } from 'fastify'
import { sendProblem } from '../problem.js'

/**
 * `/healthz`: the process is alive. `/readyz`: it can reach its database, within a second — and 503 from
 * the moment a shutdown begins, through the whole drain window (`HF_DRAIN_MS`), while the other routes
 * are still served: that is how a load balancer learns to stop sending before the listener closes.
 */
export function healthRoutes(app: FastifyInstance, db: Cluster, isClosing: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (request, reply) => {
    if (isClosing()) return sendProblem(request, reply, 'E_UNAVAILABLE', 'shutting down')
    try {
      await db.read('SELECT 1', [], {
        signal: AbortSignal.any([request.callSignal, AbortSignal.timeout(1000)]),
      })
      return { status: 'ready' }
    } catch (err) {
      request.log.warn({ err }, 'not ready')
      return sendProblem(request, reply, 'E_UNAVAILABLE', 'the database is not reachable')
    }
  })
}
