import formbody from '@fastify/formbody'
import { redisStore } from '@hundredfold/guard/redis'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { HttpLimits, MicroblogConfig } from '../config.js'
import type { Services } from '../services/index.js'
import type { Database } from '../storage/database.js'
import { type HttpGuard, registerGuard } from './guard.js'
import { registerMetrics } from './metrics.js'
import { clientErrorHandler, errorHandler, frameworkErrorHandler, sendProblem } from './problem.js'
import { registerRequestContext } from './request-context.js'
import { apiPostRoutes } from './routes/api-posts.js'
import { apiUserRoutes } from './routes/api-users.js'
import { ceilingRoute } from './routes/ceiling.js'
import { healthRoutes } from './routes/health.js'
import { wrk2ApiRoutes } from './routes/wrk2-api.js'
import { registerServerTiming } from './server-timing.js'

/** How long a request may take before its `callSignal` aborts and it answers 503 E_TIMEOUT. */
const requestDeadlineMs = 10_000

export interface BuildAppOptions {
  config: MicroblogConfig
  database: Database
  services: Services
  /** The process's logger (pino); requests log through it. */
  log: FastifyBaseLogger
  isClosing: () => boolean
}

/** The app, and the guards its routes use (the antispam check's degrade switch reads the inbound limit). */
export interface BuiltApp {
  app: FastifyInstance
  guard: HttpGuard
}

/** The HTTP edge: validation, errors as problem+json, and the routes the configuration enables. */
export function buildApp({ config, database, services, log, isClosing }: BuildAppOptions): BuiltApp {
  const limits = config.http
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    // Behind nginx the proxy's X-Request-Id (the client's, else its own) names the request in both logs.
    requestIdHeader: 'x-request-id',
    // Behind a trusted proxy, X-Forwarded-For names the client the per-address limits key on.
    ...(config.guard.trustProxy ? { trustProxy: config.guard.trustProxy } : {}),
    // Types are exact: "12" is not a number. Defaults apply; unknown properties are ignored.
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    routerOptions: { maxParamLength: 100 },
    // A slow or idle client cannot hold a socket for ever (Node's own defaults: none, 60 s, 5 s).
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // How often Node checks those two timeouts (its default, 30 s, would let them run 30 s over).
      connectionsCheckingInterval: checkingInterval(limits),
    },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  })
  app.server.maxConnections = limits.maxConnections
  // First, so its onSend (the end of `serialize`) runs before the others.
  if (config.serverTiming) registerServerTiming(app)
  registerRequestContext(app, requestDeadlineMs, config.serverTiming)
  // While draining, every answer ends its connection, so no proxy keeps one it may reuse as we close.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (isClosing()) reply.header('connection', 'close')
    done(null, payload)
  })
  // JSON and form bodies only: anything else is 415, not a string handed to validation.
  app.removeContentTypeParser('text/plain')
  app.register(formbody, { bodyLimit: config.bodyLimit })
  const registry = registerMetrics(app, database.cluster, services, { stages: config.serverTiming })
  const { loginPerIp, loginPerUser, registerPerIp } = config.guard
  // A Redis connection only when some limit counts there.
  const counters =
    config.redisUrl && (loginPerIp || loginPerUser || registerPerIp)
      ? redisStore({
          connection: config.redisUrl,
          prefix: `hf:${config.namespace}:limit:`,
          onStoreError: 'local',
        })
      : undefined
  const guard = registerGuard(app, config.guard, registry, counters)
  app.addHook('onClose', () => guard.close())
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, 'E_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
  )
  app.after(() => {
    healthRoutes(app, database.cluster, isClosing)
    apiUserRoutes(app, services, guard)
    apiPostRoutes(app, services, guard)
    if (config.wrk2Api) wrk2ApiRoutes(app, services, guard)
    if (config.ceilingRoute) ceilingRoute(app)
  })
  return { app, guard }
}

/** A tenth of the shortest request timeout, within 50 ms – 1 s: a timeout fires at most 10 % late. */
function checkingInterval(limits: HttpLimits): number {
  return Math.max(
    50,
    Math.min(1000, Math.floor(Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs) / 10)),
  )
}
