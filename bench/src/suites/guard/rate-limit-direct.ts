import fastifyRateLimit from '@fastify/rate-limit'
import { type RateLimitAlgorithm, type RateLimitResult, rateLimiter } from '@hundredfold/guard'
import { redisStore } from '@hundredfold/guard/redis'
import Fastify, { type FastifyRequest } from 'fastify'
import { Redis } from 'ioredis'
import { type Call, inProcessWindow, timedWindow } from './call-loop.js'
import { KEYS, NEVER_REACHED, REDIS_CONCURRENCY, WINDOW_MS } from './limits.js'
import type { Contenders } from './sample.js'

const addresses = Array.from({ length: KEYS }, (_, i) => `10.0.${i >> 8}.${i & 255}`)

/** Cycles through the keys: each call takes the next one. */
function cycling<T>(items: readonly T[], take: (item: T) => Promise<unknown>): Call {
  let i = 0
  return () => {
    i = i + 1 === items.length ? 0 : i + 1
    return take(items[i]!)
  }
}

const refused = (result: unknown): boolean => !(result as RateLimitResult).allowed
const exceeded = (result: unknown): boolean => (result as { isExceeded?: boolean }).isExceeded === true

/** `@fastify/rate-limit`'s manual limiter (`fastify.createRateLimit()`), on a request-shaped object per key. */
async function fastifyLimiter(options: { redis?: Redis; nameSpace?: string }): Promise<{
  call: Call
  close: () => Promise<void>
}> {
  const app = Fastify({ logger: false })
  await app.register(fastifyRateLimit, {
    global: false,
    max: NEVER_REACHED,
    timeWindow: WINDOW_MS,
    ...options,
  })
  await app.ready()
  const check = app.createRateLimit()
  const requests = addresses.map((ip) => ({ ip, routeOptions: { config: {} } }) as unknown as FastifyRequest)
  return { call: cycling(requests, check), close: () => app.close() }
}

/**
 * In process: ours on its memory store (token bucket, the default, and sliding window) beside
 * `@fastify/rate-limit`'s manual limiter on its LRU store, one caller; `bare` awaits a resolved promise.
 */
export async function localRateLimit(
  ms: number,
): Promise<Contenders<'bare' | 'ours' | 'ours_sliding_window' | 'fastify_rate_limit'>> {
  const ours = (algorithm: RateLimitAlgorithm) =>
    rateLimiter({ name: 'bench', algorithm, limit: NEVER_REACHED, windowMs: WINDOW_MS })
  const bucket = ours('token-bucket')
  const sliding = ours('sliding-window')
  const peer = await fastifyLimiter({})
  return {
    windows: {
      bare: inProcessWindow(() => Promise.resolve(true), ms),
      ours: inProcessWindow(
        cycling(addresses, (key) => bucket.take(key)),
        ms,
        { failed: refused },
      ),
      ours_sliding_window: inProcessWindow(
        cycling(addresses, (key) => sliding.take(key)),
        ms,
        { failed: refused },
      ),
      fastify_rate_limit: inProcessWindow(peer.call, ms, { failed: exceeded }),
    },
    close: async () => {
      await Promise.all([bucket.close(), sliding.close(), peer.close()])
    },
  }
}

/**
 * Cluster-wide on Redis, 32 callers: ours on `redisStore` (one Lua script per take; failures surface as
 * errors rather than falling back) beside `@fastify/rate-limit` with its ioredis store; `bare` is a `PING`
 * on a connection of its own (the round trip every contender pays).
 */
export async function redisRateLimit(
  ms: number,
  redisUrl: string,
  prefix: string,
): Promise<Contenders<'bare' | 'ours' | 'ours_sliding_window' | 'fastify_rate_limit'>> {
  const store = () => redisStore({ connection: redisUrl, prefix, onStoreError: 'closed' })
  const ours = (algorithm: RateLimitAlgorithm) =>
    rateLimiter({ name: 'bench', algorithm, limit: NEVER_REACHED, windowMs: WINDOW_MS, store: store() })
  const bucket = ours('token-bucket')
  const sliding = ours('sliding-window')
  const ping = new Redis(redisUrl)
  const peerClient = new Redis(redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1 })
  const peer = await fastifyLimiter({ redis: peerClient, nameSpace: `${prefix}frl:` })
  const options = { concurrency: REDIS_CONCURRENCY }
  return {
    windows: {
      bare: timedWindow(() => ping.ping(), ms, options),
      ours: timedWindow(
        cycling(addresses, (key) => bucket.take(key)),
        ms,
        { ...options, failed: refused },
      ),
      ours_sliding_window: timedWindow(
        cycling(addresses, (key) => sliding.take(key)),
        ms,
        { ...options, failed: refused },
      ),
      fastify_rate_limit: timedWindow(peer.call, ms, { ...options, failed: exceeded }),
    },
    close: async () => {
      await Promise.all([bucket.close(), sliding.close(), peer.close()])
      await Promise.all([ping.quit(), peerClient.quit()])
    },
  }
}
