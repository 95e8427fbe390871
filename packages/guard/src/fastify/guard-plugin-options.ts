import type { FastifyRequest } from 'fastify'
import { checkFunction, checkName, checkPositive, invalid, withDefaults } from '../concurrency/check.js'
import { ConcurrencyLimiter } from '../concurrency/concurrency-limiter.js'
import type { ConcurrencyLimiterOptions } from '../concurrency/concurrency-limiter-options.js'
import type { RateLimitResult } from '../rate-limit/store.js'

/**
 * The subset of a rate limiter the plugin uses, so any limiter fits: the guard's own `rateLimiter()`
 * (memory or Redis store), or yours.
 */
export interface RateLimiterLike {
  take(key: string, options: { signal?: AbortSignal }): Promise<RateLimitResult>
  /** The `RateLimit` / `RateLimit-Policy` / `Retry-After` headers for an answer (the guard's limiter has it). */
  headers?(result: RateLimitResult): Record<string, string>
  /** The window, for `RateLimit-Policy` when the plugin formats the headers itself. */
  readonly rule?: { readonly windowMs: number }
}

/** A rate limit applied to requests: for every route (plugin option) or one (route `config.guard`). */
export interface RouteRateLimit {
  limiter: RateLimiterLike
  /** The key limited. @default request.ip */
  key?: (request: FastifyRequest) => string
  /**
   * The policy name in `RateLimit` / `RateLimit-Policy`, replacing the limiter's own headers.
   * @default the limiter's `headers()`, else `'default'`
   */
  policy?: string
  /** The window for `RateLimit-Policy`, in ms, when the limiter has no `headers()`. @default limiter.rule.windowMs */
  windowMs?: number
}

/** Per-route settings, as `config: { guard: { … } }` on the route. */
export interface GuardRouteConfig {
  /** Skip every guard (health checks, metrics scrapes). @default false */
  exempt?: boolean
  /** `false`: not under the concurrency limit. @default true */
  concurrency?: boolean
  /** This route's rate limit, replacing the plugin's; `false`: none. @default the plugin's `rateLimit` */
  rateLimit?: RouteRateLimit | false
}

/** Options of the guard plugin. Every default is in `guardPluginDefaults`. */
export interface GuardPluginOptions {
  /**
   * The inbound concurrency limiter: one of yours (to read it elsewhere, or share it with a degrade switch),
   * options for one (`name` defaults to `'http'`), or `false` for none.
   * @default concurrencyLimiter({ name: 'http' }) (gradient2)
   */
  concurrency?: ConcurrencyLimiter | ConcurrencyLimiterOptions | false
  /** A rate limit for every route; routes replace it or opt out with `config.guard.rateLimit`. @default none */
  rateLimit?: RouteRateLimit | false
  /**
   * Routes no guard touches, by their declared URL (`'/health'`, `'/posts/:id'`), or a predicate.
   * @default []
   */
  exempt?: readonly string[] | ((request: FastifyRequest) => boolean)
  /** `Retry-After` of a 503 when the limit is reached, in seconds. @default 1 */
  retryAfterSeconds?: number
  /**
   * Also shed (503 `E_CONCURRENCY_LIMITED`, `reason: 'event-loop-delay'`) while the event loop's smoothed
   * delay is above this, in ms: what a concurrency limit cannot see — the wait before a request's first
   * hook runs, when the process (or the machine) is short of CPU. `false`: off. @default false
   */
  maxEventLoopDelayMs?: number | false
  /**
   * Which response statuses tell the limiter the request was dropped (overload downstream). Other 5xx
   * responses are not sampled (a fast failure says nothing about capacity); the rest are successes.
   * @default 503 and 504
   */
  isDrop?: (statusCode: number) => boolean
}

/** The defaults of {@link GuardPluginOptions}. */
export const guardPluginDefaults = Object.freeze({
  exempt: Object.freeze([]) as readonly string[] | ((request: FastifyRequest) => boolean),
  retryAfterSeconds: 1,
  maxEventLoopDelayMs: false as number | false,
  isDrop: ((status: number) => status === 503 || status === 504) as (statusCode: number) => boolean,
})

/** @internal */
export interface ResolvedGuardPluginOptions {
  readonly limiter: ConcurrencyLimiter | undefined
  readonly rateLimit: RouteRateLimit | undefined
  readonly isExempt: (request: FastifyRequest) => boolean
  readonly retryAfterSeconds: number
  readonly maxEventLoopDelayMs: number | false
  readonly isDrop: (statusCode: number) => boolean
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveGuardPluginOptions(options: GuardPluginOptions): ResolvedGuardPluginOptions {
  const o = withDefaults(guardPluginDefaults, options)
  checkPositive('options.retryAfterSeconds', o.retryAfterSeconds)
  checkFunction('options.isDrop', o.isDrop)
  if (o.maxEventLoopDelayMs !== false) checkPositive('options.maxEventLoopDelayMs', o.maxEventLoopDelayMs)
  let limiter: ConcurrencyLimiter | undefined
  if (isLimiter(o.concurrency)) limiter = o.concurrency
  else if (o.concurrency !== false) limiter = new ConcurrencyLimiter({ name: 'http', ...o.concurrency })
  const rateLimit = o.rateLimit === false || o.rateLimit === undefined ? undefined : o.rateLimit
  if (rateLimit) checkRateLimit('options.rateLimit', rateLimit)
  let isExempt: (request: FastifyRequest) => boolean
  if (typeof o.exempt === 'function') {
    isExempt = o.exempt
  } else if (Array.isArray(o.exempt) && o.exempt.every((url) => typeof url === 'string')) {
    const urls = new Set(o.exempt)
    isExempt = urls.size === 0 ? () => false : (request) => urls.has(request.routeOptions.url ?? '')
  } else {
    throw invalid('options.exempt', 'must be an array of route URLs or a function', o.exempt)
  }
  return Object.freeze({
    limiter,
    rateLimit,
    isExempt,
    retryAfterSeconds: o.retryAfterSeconds,
    maxEventLoopDelayMs: o.maxEventLoopDelayMs,
    isDrop: o.isDrop,
  })
}

/** Checks a rate limit given to the plugin or to a route. @internal */
export function checkRateLimit(option: string, rateLimit: RouteRateLimit): void {
  if (typeof rateLimit?.limiter?.take !== 'function') {
    throw invalid(`${option}.limiter`, 'must have a take(key, { signal }) method', rateLimit?.limiter)
  }
  if (rateLimit.key !== undefined) checkFunction(`${option}.key`, rateLimit.key)
  if (rateLimit.policy !== undefined) checkName(`${option}.policy`, rateLimit.policy)
  if (rateLimit.windowMs !== undefined) checkPositive(`${option}.windowMs`, rateLimit.windowMs)
  const formatsItself = rateLimit.policy !== undefined || typeof rateLimit.limiter.headers !== 'function'
  if (formatsItself && rateLimit.windowMs === undefined && rateLimit.limiter.rule?.windowMs === undefined) {
    throw invalid(
      `${option}.windowMs`,
      'must be given for a limiter without headers() or rule.windowMs (or with a policy name of its own)',
      undefined,
    )
  }
}

// By shape rather than `instanceof`, so a limiter from another copy of the package (the main entry's
// build beside this entry's sources, say) is still taken as one.
function isLimiter(value: unknown): value is ConcurrencyLimiter {
  const candidate = value as Partial<ConcurrencyLimiter> | undefined
  return typeof candidate?.tryAcquire === 'function' && typeof candidate.acquire === 'function'
}
