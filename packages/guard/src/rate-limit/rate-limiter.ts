import type { Registry } from '@hundredfold/metrics'
import { abortedError, GuardError } from '../errors.js'
import { countRejection, publish } from '../observe/index.js'
import { rateLimitHeaders } from './headers.js'
import { type HotKeyOptions, HotKeys } from './hot-keys.js'
import { memoryStore } from './memory-store.js'
import type { RateLimitAlgorithm, RateLimitResult, RateLimitRule, RateLimitStore } from './store.js'

/** Options of {@link rateLimiter}. Every default is in `rateLimiterDefaults`. */
export interface RateLimiterOptions {
  /** `token-bucket` (bursts up to `burst`, refilled evenly) or `sliding-window` (sliding-window counter). @default 'token-bucket' */
  algorithm?: RateLimitAlgorithm
  /** Units granted per window, an integer ≥ 1. */
  limit: number
  /** The window, in ms (an integer; the `RateLimit-Policy` header rounds it up to seconds). @default 1_000 */
  windowMs?: number
  /** Token bucket: how many units it holds, so how big a burst may be. @default limit */
  burst?: number
  /** Where the state lives. @default memoryStore() */
  store?: RateLimitStore
  /** Named or automatic hot keys with a stricter limit. @default none */
  hot?: HotKeyOptions
  /** Names the limiter in errors, events, metrics and headers; also namespaces its keys in the store. @default 'default' */
  name?: string
  /** Counts refusals on `hundredfold_guard_rejections_total`. @default none */
  registry?: Registry
  /** The clock hot keys are held by, in ms. @default Date.now */
  now?: () => number
}

/** The defaults of {@link RateLimiterOptions} (`burst` defaults to `limit`, `store` to a new `memoryStore()`). */
export const rateLimiterDefaults = Object.freeze({
  algorithm: 'token-bucket' as RateLimitAlgorithm,
  windowMs: 1_000,
  name: 'default',
  now: (): number => Date.now(),
})

/** Options of {@link RateLimiter.take}. */
export interface TakeOptions {
  /** Units this take costs, an integer from 1 to the limit. @default 1 */
  cost?: number
  signal?: AbortSignal
}

/** A rate limiter over a store, keyed by any string. Made by {@link rateLimiter}. */
export class RateLimiter {
  /** The limiter's name. */
  readonly name: string
  /** The rule keys get unless they are hot. */
  readonly rule: RateLimitRule
  readonly #store: RateLimitStore
  readonly #hot: HotKeys
  readonly #registry: Registry | undefined
  readonly #now: () => number

  constructor(options: RateLimiterOptions) {
    const resolved = resolveOptions(options)
    this.name = resolved.name
    this.rule = Object.freeze({
      algorithm: resolved.algorithm,
      limit: resolved.limit,
      windowMs: resolved.windowMs,
      burst: resolved.algorithm === 'token-bucket' ? (resolved.burst ?? resolved.limit) : resolved.limit,
    })
    this.#store = resolved.store ?? memoryStore()
    this.#hot = new HotKeys(this.rule, resolved.hot)
    this.#registry = resolved.registry
    this.#now = resolved.now
  }

  /**
   * Takes `cost` units for `key` if its quota allows. A refusal is an answer (`allowed: false`), not an
   * error; {@link rateLimit} turns it into `E_RATE_LIMITED`.
   *
   * @throws {GuardError} `E_ABORTED`, `E_INVALID_OPTION` (a bad cost), and what the store throws (`E_BACKEND`).
   * @example
   * const result = await limiter.take(`ip:${req.ip}`, { signal: req.signal })
   * if (!result.allowed) return reply.code(429).headers(limiter.headers(result)).send()
   */
  async take(key: string, options: TakeOptions = {}): Promise<RateLimitResult> {
    const { cost = 1, signal } = options
    if (signal?.aborted) throw abortedError(signal)
    if (typeof key !== 'string') throw invalid('key', 'a string', key)
    const now = this.#now()
    const { rule, storeKey, hot } = this.#hot.resolve(this.name, key, this.rule, now)
    if (!Number.isInteger(cost) || cost < 1 || cost > rule.burst) {
      throw invalid('cost', `an integer from 1 to ${rule.burst} (the limit for this key)`, cost)
    }
    const result = await this.#store.take({ key: storeKey, rule, cost }, signal)
    if (!hot) this.#hot.observe(key, result, now)
    if (!result.allowed) {
      countRejection(this.#registry, this.name, 'E_RATE_LIMITED')
      publish('rate-limited', () => ({
        policy: this.name,
        key,
        limit: result.limit,
        remaining: result.remaining,
        retryAfterMs: result.retryAfterMs,
        hot,
      }))
    }
    return result
  }

  /**
   * The `RateLimit-Policy`, `RateLimit` (and, when refused, `Retry-After`) headers for a take's answer.
   *
   * @example
   * reply.headers(limiter.headers(result))
   */
  headers(result: RateLimitResult): Record<string, string> {
    return rateLimitHeaders(result, { policy: this.name, windowMs: this.rule.windowMs })
  }

  /** Keys that are automatically hot now. */
  hotKeys(): string[] {
    return this.#hot.hotKeys(this.#now())
  }

  /** Closes the store. */
  close(): Promise<void> {
    return this.#store.close()
  }
}

/**
 * A rate limiter: `limit` units per `windowMs` per key, by token bucket (bursts up to `burst`) or
 * sliding-window counter (the current fixed window's count plus the previous one's, weighted by its
 * overlap — two counters per key, within a small error of an exact sliding log). In process by default,
 * cluster-wide with `redisStore` from `@hundredfold/guard/redis`.
 *
 * @throws {GuardError} `E_INVALID_OPTION` for a bad option.
 * @example
 * const perUser = rateLimiter({ algorithm: 'sliding-window', limit: 100, windowMs: 60_000, hot: { keys: { 'user:42': 10 } } })
 * const { allowed, retryAfterMs } = await perUser.take(`user:${userId}`)
 */
export function rateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options)
}

/**
 * A token-bucket limiter: `rateLimiter({ ...options, algorithm: 'token-bucket' })`.
 *
 * @example
 * const api = tokenBucket({ limit: 10, windowMs: 1_000, burst: 20 }) // 10/s, bursts of 20
 */
export function tokenBucket(options: Omit<RateLimiterOptions, 'algorithm'>): RateLimiter {
  return new RateLimiter({ ...options, algorithm: 'token-bucket' })
}

/**
 * A sliding-window-counter limiter: `rateLimiter({ ...options, algorithm: 'sliding-window' })`.
 *
 * @example
 * const logins = slidingWindow({ limit: 5, windowMs: 60_000 })
 */
export function slidingWindow(options: Omit<RateLimiterOptions, 'algorithm' | 'burst'>): RateLimiter {
  return new RateLimiter({ ...options, algorithm: 'sliding-window' })
}

type Resolved = Omit<RateLimiterOptions, 'algorithm' | 'windowMs' | 'name' | 'now'> &
  Required<Pick<RateLimiterOptions, 'algorithm' | 'windowMs' | 'name' | 'now'>>

function resolveOptions(options: RateLimiterOptions): Resolved {
  if (options === null || typeof options !== 'object') throw invalid('', 'an object with a limit', options)
  const r: Resolved = { ...rateLimiterDefaults, ...stripUndefined(options), limit: options.limit }
  if (r.algorithm !== 'token-bucket' && r.algorithm !== 'sliding-window') {
    throw invalid('algorithm', "'token-bucket' or 'sliding-window'", r.algorithm)
  }
  for (const name of ['limit', 'windowMs', 'burst'] as const) {
    const value = r[name]
    if (value === undefined && name === 'burst') continue
    if (!Number.isInteger(value) || value! < 1) throw invalid(name, 'a positive integer', value)
  }
  if (r.burst !== undefined && r.algorithm === 'sliding-window') {
    throw invalid('burst', 'unset for a sliding window (its burst is its limit)', r.burst)
  }
  // Both algorithms count in units × windowMs; beyond 2^53 the arithmetic would no longer be exact.
  const biggest = Math.max(r.limit, r.burst ?? 0, r.hot?.limit ?? 0, ...Object.values(r.hot?.keys ?? {}))
  if (biggest * r.windowMs * 4 > Number.MAX_SAFE_INTEGER) {
    throw invalid('windowMs', 'small enough that limit × windowMs stays below 2^51', r.windowMs)
  }
  if (typeof r.name !== 'string' || r.name === '') throw invalid('name', 'a non-empty string', r.name)
  if (typeof r.now !== 'function') throw invalid('now', 'a function', r.now)
  if (r.store !== undefined && typeof r.store?.take !== 'function')
    throw invalid('store', 'a RateLimitStore', r.store)
  if (r.hot !== undefined) checkHot(r.hot)
  const capacity = r.burst ?? r.limit
  if (r.hot?.threshold !== undefined && r.hot.threshold > capacity) {
    throw invalid(
      'hot.threshold',
      `at most the limit (${capacity}), or no key ever reaches it`,
      r.hot.threshold,
    )
  }
  return Object.freeze(r)
}

function checkHot(hot: HotKeyOptions): void {
  for (const [key, limit] of Object.entries(hot.keys ?? {})) {
    if (!Number.isInteger(limit) || limit < 1)
      throw invalid(`hot.keys[${JSON.stringify(key)}]`, 'a positive integer', limit)
  }
  if (hot.threshold === undefined) {
    for (const name of ['limit', 'holdMs', 'maxKeys'] as const) {
      if (hot[name] !== undefined)
        throw invalid(`hot.${name}`, 'unset without options.hot.threshold', hot[name])
    }
    return
  }
  if (!Number.isInteger(hot.threshold) || hot.threshold < 1) {
    throw invalid('hot.threshold', 'a positive integer', hot.threshold)
  }
  if (!Number.isInteger(hot.limit) || hot.limit! < 1)
    throw invalid('hot.limit', 'a positive integer', hot.limit)
  if (hot.holdMs !== undefined && !(Number.isFinite(hot.holdMs) && hot.holdMs > 0)) {
    throw invalid('hot.holdMs', 'a positive number', hot.holdMs)
  }
  if (hot.maxKeys !== undefined && !(Number.isInteger(hot.maxKeys) && hot.maxKeys >= 1)) {
    throw invalid('hot.maxKeys', 'a positive integer', hot.maxKeys)
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  const path = option === '' ? 'options' : option === 'key' ? 'key' : `options.${option}`
  return new GuardError('E_INVALID_OPTION', `${path} must be ${rule}`, { option: path, value })
}
