import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { ConcurrencyLimiter, ConcurrencyPermit } from '../concurrency/concurrency-limiter.js'
import { GuardError } from '../errors.js'
import { rateLimitHeaders, retryAfterSeconds } from '../rate-limit/headers.js'
import type { RateLimitResult } from '../rate-limit/store.js'
import {
  checkRateLimit,
  type GuardPluginOptions,
  type GuardRouteConfig,
  type ResolvedGuardPluginOptions,
  type RouteRateLimit,
  resolveGuardPluginOptions,
} from './guard-plugin-options.js'
import { LoopDelay } from './loop-delay.js'
import { guardProblem } from './problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The guard plugin's state: the inbound limiter and what the plugin answered. */
    guard: GuardDecoration
  }
  interface FastifyContextConfig {
    /** This route's guard settings (see `GuardRouteConfig`). */
    guard?: GuardRouteConfig
  }
}

/** What the plugin answered since it was registered. */
export interface GuardPluginStats {
  /** Requests answered 503 `E_CONCURRENCY_LIMITED` before any work (either reason). */
  shed: number
  /** Of those, the ones shed because the event loop was late (`maxEventLoopDelayMs`). */
  shedLoopDelay: number
  /** Requests answered 429 `E_RATE_LIMITED`. */
  rateLimited: number
  /** Requests on exempt routes. */
  exempt: number
}

/** `fastify.guard`: the inbound limiter (to read `limit`, `inFlight`, `stats()`), and the plugin's counters. */
export interface GuardDecoration {
  /** The inbound concurrency limiter, `undefined` with `concurrency: false`. */
  readonly concurrency: ConcurrencyLimiter | undefined
  /** The event loop's smoothed delay in ms, as the plugin sees it; `undefined` without `maxEventLoopDelayMs`. */
  eventLoopDelayMs(): number | undefined
  stats(): GuardPluginStats
}

/**
 * The inbound guard of a fastify server, in one `onRequest` hook that runs before body parsing and any
 * handler:
 *
 * 1. exempt routes (`exempt`, or `config: { guard: { exempt: true } }`) pass untouched;
 * 2. the adaptive concurrency limiter admits the request or answers **503** `E_CONCURRENCY_LIMITED` with
 *    `Retry-After` at once; an admitted request releases its slot exactly once, when its response
 *    finishes (sampled: 503/504 as drops, other 5xx not at all) or its connection closes first (not sampled);
 * 3. the rate limit (the plugin's or the route's) takes one from the key's quota: every answer carries
 *    `RateLimit` and `RateLimit-Policy`, a refusal is **429** `E_RATE_LIMITED` with `Retry-After`.
 *
 * Refusals are `application/problem+json` with a stable `code`. Register it before the routes, once per
 * instance; it applies to every route (it is not encapsulated). `fastify.guard` exposes the limiter.
 *
 * @throws {GuardError} `E_INVALID_OPTION` at registration, naming the option (route configs included).
 * @example
 * const app = Fastify()
 * await app.register(guardPlugin, {
 *   concurrency: { limit: gradient2({ maxLimit: 500 }), registry },
 *   rateLimit: { limiter: perUserLimiter, key: (request) => request.headers['x-user-id'] as string, policy: 'user' },
 *   exempt: ['/health', '/metrics'],
 * })
 * app.get('/posts/:id', handler)
 * app.post('/login', { config: { guard: { rateLimit: { limiter: loginLimiter, policy: 'login' } } } }, login)
 */
export const guardPlugin: FastifyPluginAsync<GuardPluginOptions> = async (fastify, options) => {
  const o = resolveGuardPluginOptions(options)
  const counts: GuardPluginStats = { shed: 0, shedLoopDelay: 0, rateLimited: 0, exempt: 0 }
  const loop = o.maxEventLoopDelayMs === false ? undefined : new LoopDelay(5)
  if (loop) fastify.addHook('onClose', (_instance, done) => (loop.stop(), done()))
  const decoration: GuardDecoration = Object.freeze({
    concurrency: o.limiter,
    eventLoopDelayMs: () => loop?.ms,
    stats: () => ({ ...counts }),
  })
  fastify.decorate('guard', decoration)

  fastify.addHook('onRoute', (route) => {
    const rateLimit = route.config?.guard?.rateLimit
    if (rateLimit) checkRateLimit(`config.guard.rateLimit of ${route.method} ${route.url}`, rateLimit)
  })

  fastify.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config?.guard
    if (config?.exempt || o.isExempt(request)) {
      counts.exempt++
      return
    }
    const limited = config?.concurrency !== false
    if (loop && limited && loop.ms > (o.maxEventLoopDelayMs as number)) {
      counts.shed++
      counts.shedLoopDelay++
      return shedLate(o, loop.ms, request, reply)
    }
    let permit: ConcurrencyPermit | undefined
    if (o.limiter && limited) {
      permit = await admit(o.limiter, reply.raw)
      if (!permit) {
        counts.shed++
        return shed(o, o.limiter, request, reply)
      }
      releaseOnEnd(permit, reply.raw, o.isDrop)
    }
    const rateLimit = config?.rateLimit === false ? undefined : (config?.rateLimit ?? o.rateLimit)
    if (rateLimit && !(await take(rateLimit, request, reply))) {
      counts.rateLimited++
      // A refusal is not a sample: its RTT says nothing about what the handlers take.
      permit?.release('ignore')
      return reply
    }
    return undefined
  })
}

// What fastify-plugin would set, without depending on it: the hook and decoration apply to the whole
// instance (not only this plugin's encapsulated context), and the plugin has a name in errors and graphs.
Object.assign(guardPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@hundredfold/guard',
  [Symbol.for('plugin-meta')]: { name: '@hundredfold/guard', fastify: '>=5.0.0' },
})

/** A slot for the request, waiting in the limiter's queue only if it has one. */
async function admit(
  limiter: ConcurrencyLimiter,
  res: ServerResponse,
): Promise<ConcurrencyPermit | undefined> {
  if (limiter.maxQueued === 0) return limiter.tryAcquire()
  const gone = new AbortController()
  const onClose = () => gone.abort()
  res.once('close', onClose)
  try {
    return await limiter.acquire(gone.signal)
  } catch (error) {
    if (
      error instanceof GuardError &&
      (error.code === 'E_CONCURRENCY_LIMITED' || error.code === 'E_ABORTED')
    ) {
      return undefined
    }
    throw error
  } finally {
    res.removeListener('close', onClose)
  }
}

/**
 * Releases the slot when the response has been written ('finish', sampled by status), or when the
 * connection closed before that ('close' without 'finish': the client went away, not sampled). The
 * permit counts only its first release, so whichever comes first wins and nothing is released twice.
 */
function releaseOnEnd(
  permit: ConcurrencyPermit,
  res: ServerResponse,
  isDrop: (status: number) => boolean,
): void {
  res.once('finish', () => {
    const status = res.statusCode
    permit.release(isDrop(status) ? 'drop' : status >= 500 ? 'ignore' : 'success')
  })
  res.once('close', () => permit.release('ignore'))
}

function shed(
  o: ResolvedGuardPluginOptions,
  limiter: ConcurrencyLimiter,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const problem = guardProblem('E_CONCURRENCY_LIMITED', request.url, {
    detail: `${limiter.inFlight} requests in flight reach the limit of ${limiter.limit}`,
    retryAfterMs: o.retryAfterSeconds * 1_000,
    extra: { limit: limiter.limit, inFlight: limiter.inFlight },
  })
  return reply.code(problem.status).headers(problem.headers).send(problem.body)
}

function shedLate(
  o: ResolvedGuardPluginOptions,
  delayMs: number,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const problem = guardProblem('E_CONCURRENCY_LIMITED', request.url, {
    detail: `the event loop is ${Math.round(delayMs)} ms late, over the ${o.maxEventLoopDelayMs} ms allowed`,
    retryAfterMs: o.retryAfterSeconds * 1_000,
    extra: { reason: 'event-loop-delay', eventLoopDelayMs: Math.round(delayMs * 10) / 10 },
  })
  return reply.code(problem.status).headers(problem.headers).send(problem.body)
}

/** Takes from the rate limit; sets the headers; answers 429 and returns `false` if refused. */
async function take(
  rateLimit: RouteRateLimit,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const key = rateLimit.key ? rateLimit.key(request) : request.ip
  const gone = new AbortController()
  const onClose = () => gone.abort()
  reply.raw.once('close', onClose)
  let decision: RateLimitResult
  try {
    decision = await rateLimit.limiter.take(key, { signal: gone.signal })
  } finally {
    reply.raw.removeListener('close', onClose)
  }
  const { limiter, policy } = rateLimit
  const headers =
    policy === undefined && limiter.headers
      ? limiter.headers(decision)
      : rateLimitHeaders(decision, {
          policy: policy ?? 'default',
          // Checked at registration: one of the two is there.
          windowMs: rateLimit.windowMs ?? limiter.rule!.windowMs,
        })
  reply.headers(headers)
  if (decision.allowed) return true
  const problem = guardProblem('E_RATE_LIMITED', request.url, {
    detail: `the quota of ${decision.limit} requests is spent; retry in ${retryAfterSeconds(decision.retryAfterMs)} s`,
    retryAfterMs: decision.retryAfterMs,
    extra: { limit: decision.limit, remaining: decision.remaining, retryAfterMs: decision.retryAfterMs },
  })
  reply.code(problem.status).headers(problem.headers).send(problem.body)
  return false
}
