import {
  type Bulkhead,
  bulkhead,
  type ConcurrencyLimiter,
  concurrencyLimiter,
  fixed,
  GuardError,
  gradient2,
  type RateLimiter,
  type RateLimitStore,
  rateLimiter,
  vegas,
} from '@hundredfold/guard'
import { guardPlugin } from '@hundredfold/guard/fastify'
import type { Registry } from '@hundredfold/metrics'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { GuardConfig, RateRule } from '../guard-config.js'

/** Routes no guard touches: probes and scrapes must answer however loaded the process is. */
const EXEMPT = ['/healthz', '/readyz', '/metrics']

/** The HTTP edge's guards: the inbound concurrency limit, the sign-in throttles, the password-hash pool. */
export interface HttpGuard {
  /** The inbound limiter, when `HF_GUARD_CONCURRENCY` is not `off`. */
  readonly concurrency: ConcurrencyLimiter | undefined
  /** Registrations and sign-ins: at most four password hashes at once (libuv's threads), a bounded queue. */
  readonly passwords: Bulkhead
  /** Per client address, for `POST /api/v1/sessions`; `undefined` when off. */
  readonly loginPerIp: RateLimiter | undefined
  /** Per client address, for `POST /api/v1/users`; `undefined` when off. */
  readonly registerPerIp: RateLimiter | undefined
  /**
   * Takes one sign-in attempt from `username`'s quota, or throws `E_RATE_LIMITED` (429 with
   * `Retry-After`); either way the answer carries the `RateLimit` headers.
   */
  throttleUsername(username: string, request: FastifyRequest, reply: FastifyReply): Promise<void>
  close(): Promise<void>
}

/**
 * Makes the edge's guards and registers the inbound plugin (concurrency limit and per-route limits) on
 * `app`, before its routes. The limits count in `store` (Redis: cluster-wide), else in this process.
 */
export function registerGuard(
  app: FastifyInstance,
  config: GuardConfig,
  registry: Registry,
  store: RateLimitStore | undefined,
): HttpGuard {
  const concurrency = inboundLimiter(config, registry)
  const limiter = (name: string, rule: RateRule | undefined) =>
    rule
      ? rateLimiter({
          name,
          algorithm: 'sliding-window',
          limit: rule.limit,
          windowMs: rule.windowMs,
          registry,
          ...(store ? { store } : {}),
        })
      : undefined
  const loginPerIp = limiter('login-ip', config.loginPerIp)
  const loginPerUser = limiter('login-user', config.loginPerUser)
  const registerPerIp = limiter('register-ip', config.registerPerIp)
  const passwords = bulkhead({
    name: 'password-hash',
    maxConcurrent: 4,
    maxQueued: config.passwordHashQueue,
    queueTimeoutMs: 2_000,
    registry,
  })
  app.register(guardPlugin, { concurrency: concurrency ?? false, exempt: EXEMPT })
  return {
    concurrency,
    passwords,
    loginPerIp,
    registerPerIp,
    async throttleUsername(username, request, reply) {
      if (!loginPerUser) return
      const result = await loginPerUser.take(`user:${username.toLowerCase()}`, { signal: request.ctx.signal })
      reply.headers(loginPerUser.headers(result))
      if (!result.allowed) {
        throw new GuardError('E_RATE_LIMITED', 'too many sign-in attempts for this username; retry later', {
          policy: 'login-user',
          limit: result.limit,
          remaining: result.remaining,
          retryAfterMs: result.retryAfterMs,
        })
      }
    },
    async close() {
      await store?.close()
    },
  }
}

function inboundLimiter(config: GuardConfig, registry: Registry): ConcurrencyLimiter | undefined {
  if (config.concurrency === 'off') return undefined
  const bounds = { initialLimit: 32, minLimit: 8, maxLimit: config.concurrencyMax }
  const limit =
    config.concurrency === 'gradient2'
      ? gradient2(bounds)
      : config.concurrency === 'vegas'
        ? vegas(bounds)
        : fixed(config.concurrency)
  return concurrencyLimiter({ name: 'http', limit, registry })
}

/** A route's per-address limit, for its `config.guard`. */
export function perAddress(limiter: RateLimiter | undefined, policy: string) {
  return { guard: { rateLimit: limiter ? { limiter, policy } : (false as const) } }
}
