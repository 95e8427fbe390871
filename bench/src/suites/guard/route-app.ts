import fastifyRateLimit from '@fastify/rate-limit'
import { rateLimiter } from '@hundredfold/guard'
import { guardPlugin } from '@hundredfold/guard/fastify'
import { redisStore } from '@hundredfold/guard/redis'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { NEVER_REACHED, WINDOW_MS } from './limits.js'

/** The servers of the route comparison: no limit, ours (memory, Redis), `@fastify/rate-limit` (memory, Redis). */
export const ROUTE_CONTENDERS = [
  'baseline',
  'ours',
  'ours_redis',
  'fastify_rate_limit',
  'fastify_rate_limit_redis',
] as const

export type RouteContender = (typeof ROUTE_CONTENDERS)[number]

/** What a route server is started with (passed to its process as JSON). */
export interface RouteServerConfig {
  contender: RouteContender
  redisUrl: string
  /** Prefix of every Redis key the server writes. */
  prefix: string
}

/** The path every server answers, with a tiny JSON body. */
export const ROUTE_PATH = '/limited'

const handler = async () => ({ ok: true })

/**
 * One fastify server with `GET /limited` under the contender's per-route limit (keyed by client address,
 * the default of both plugins; never reached, so every request is admitted and carries the headers).
 */
export async function buildRouteApp(
  config: RouteServerConfig,
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const { contender, redisUrl, prefix } = config
  const app = Fastify({ logger: false })
  const closers: (() => Promise<unknown>)[] = [() => app.close()]
  if (contender === 'baseline') {
    app.get(ROUTE_PATH, handler)
  } else if (contender === 'ours' || contender === 'ours_redis') {
    const store =
      contender === 'ours_redis'
        ? redisStore({ connection: redisUrl, prefix, onStoreError: 'closed' })
        : undefined
    const limiter = rateLimiter({ name: 'route', limit: NEVER_REACHED, windowMs: WINDOW_MS, store })
    closers.push(() => limiter.close())
    await app.register(guardPlugin, { concurrency: false })
    app.get(ROUTE_PATH, { config: { guard: { rateLimit: { limiter } } } }, handler)
  } else {
    const redis =
      contender === 'fastify_rate_limit_redis'
        ? new Redis(redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1 })
        : undefined
    if (redis) closers.push(() => redis.quit())
    await app.register(fastifyRateLimit, {
      global: false,
      ...(redis ? { redis, nameSpace: `${prefix}frl:` } : {}),
    })
    app.get(ROUTE_PATH, { config: { rateLimit: { max: NEVER_REACHED, timeWindow: WINDOW_MS } } }, handler)
  }
  return {
    app,
    close: async () => {
      for (const close of closers) await close().catch(() => {})
    },
  }
}
