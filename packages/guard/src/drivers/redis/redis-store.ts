import type { Registry } from '@hundredfold/metrics'
import type { Redis } from 'ioredis'
import { type CircuitBreaker, circuitBreaker } from '../../breaker/index.js'
import { abortedError, GuardError } from '../../errors.js'
import { guardMetrics, publish } from '../../observe/index.js'
import { wrap } from '../../policy.js'
import { MemoryStore } from '../../rate-limit/memory-store.js'
import type { RateLimitResult, RateLimitRule, RateLimitStore, TakeRequest } from '../../rate-limit/store.js'
import { timeout } from '../../timeout/index.js'
import { openRedis, type RedisConnection } from './redis-client.js'
import { SLIDING_WINDOW, TOKEN_BUCKET } from './scripts.js'

/** What the store does while Redis fails: allow, refuse with `E_BACKEND`, or limit in process. */
export type StoreErrorMode = 'open' | 'closed' | 'local'

/** Options of {@link redisStore}. Every default is in `redisStoreDefaults`. */
export type RedisStoreOptions = RedisConnection & {
  /** Prepended to every key, to share one Redis between applications. @default 'hf:guard:rl:' */
  prefix?: string
  /**
   * While Redis fails: `open` allows every take, `closed` rejects with `E_BACKEND`, `local` limits in this
   * process to its share of each limit (limit ÷ `expectedProcesses`, at least 1). @default 'local'
   */
  onStoreError?: StoreErrorMode
  /** `local`: how many processes share the limits; set it to your replica count. @default 1 */
  expectedProcesses?: number
  /** A Redis call slower than this fails (and counts towards the breaker), in ms. @default 250 */
  commandTimeoutMs?: number
  /** Consecutive Redis failures that open the store's breaker: then Redis is not tried at all. @default 3 */
  breakerFailures?: number
  /** How long the breaker stays open before a take probes Redis again, in ms. @default 1_000 */
  breakerOpenMs?: number
  /** `local`: keys the in-process fallback holds at most. @default 10_000 */
  localMaxKeys?: number
  /** Names the store in errors, events and metrics. @default 'redis-rate-limit' */
  name?: string
  /** Exports the breaker's state and counts store errors. @default none */
  registry?: Registry
  /**
   * A clock (unix ms) to use instead of Redis `TIME`: for tests with a fake clock, or where the app clocks
   * are known to agree. @default Redis server time
   */
  now?: () => number
}

/** The defaults of {@link RedisStoreOptions}. */
export const redisStoreDefaults = Object.freeze({
  prefix: 'hf:guard:rl:' as string,
  onStoreError: 'local' as StoreErrorMode,
  expectedProcesses: 1,
  commandTimeoutMs: 250,
  breakerFailures: 3,
  breakerOpenMs: 1_000,
  localMaxKeys: 10_000,
  name: 'redis-rate-limit' as string,
})

type Scripted = Redis &
  Record<'hfGuardTokenBucket' | 'hfGuardSlidingWindow', (...args: (string | number)[]) => Promise<unknown>>

/**
 * The cluster-wide limiter store on Redis: one Lua script per algorithm, run by SHA (`EVALSHA`, through
 * ioredis `defineCommand`, reloaded on `NOSCRIPT`), on Redis server time. Each take is one round trip.
 * A breaker around Redis means a dead Redis costs one failed call per `breakerOpenMs`, not a timeout per take.
 *
 * @example
 * const store = redisStore({ connection: 'redis://127.0.0.1:6379', onStoreError: 'local', expectedProcesses: 4 })
 * const limiter = rateLimiter({ limit: 1_000, windowMs: 60_000, store })
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options)
}

/** The store {@link redisStore} makes. */
export class RedisStore implements RateLimitStore {
  readonly #options: RedisRateLimitResolved
  readonly #client: Scripted
  readonly #owned: boolean
  readonly #breaker: CircuitBreaker
  readonly #guarded: ReturnType<typeof wrap>
  readonly #local: MemoryStore

  constructor(options: RedisStoreOptions) {
    this.#options = resolveOptions(options)
    const { commandTimeoutMs, breakerFailures, breakerOpenMs, name, registry, localMaxKeys, now } =
      this.#options
    const { client, owned } = openRedis(options, commandTimeoutMs)
    this.#client = client as Scripted
    this.#owned = owned
    if (typeof this.#client.hfGuardTokenBucket !== 'function') {
      client.defineCommand('hfGuardTokenBucket', { lua: TOKEN_BUCKET, numberOfKeys: 1 })
      client.defineCommand('hfGuardSlidingWindow', { lua: SLIDING_WINDOW, numberOfKeys: 1 })
    }
    this.#breaker = circuitBreaker({
      name,
      failureRatio: false,
      consecutiveFailures: breakerFailures,
      openMs: breakerOpenMs,
      ...(registry ? { registry } : {}),
    })
    this.#guarded = wrap(this.#breaker, timeout({ ms: commandTimeoutMs, name }))
    this.#local = new MemoryStore({ maxKeys: localMaxKeys, ...(now ? { now } : {}) })
  }

  /** Whether Redis is in use now (`false` while its breaker is open and the failure mode answers). */
  get healthy(): boolean {
    return this.#breaker.state === 'closed'
  }

  async take(request: TakeRequest, signal?: AbortSignal): Promise<RateLimitResult> {
    if (signal?.aborted) throw abortedError(signal)
    try {
      return await this.#guarded.execute(() => this.#redisTake(request), signal)
    } catch (err) {
      if (err instanceof GuardError && err.code === 'E_ABORTED') throw err
      return this.#onError(request, err)
    }
  }

  async close(): Promise<void> {
    await this.#local.close()
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect())
  }

  async #redisTake({ key, rule, cost }: TakeRequest): Promise<RateLimitResult> {
    const { prefix, now } = this.#options
    const tokenBucket = rule.algorithm === 'token-bucket'
    const run = tokenBucket ? this.#client.hfGuardTokenBucket : this.#client.hfGuardSlidingWindow
    // With an injected clock, real expiry must not outrun fake time: keep state an hour past its reset.
    const slack = now ? 3_600_000 : 1_000
    const args = [rule.limit, rule.windowMs, rule.burst, cost, now ? now() : '', slack]
    const reply = (await run.call(
      this.#client,
      `${prefix}${tokenBucket ? 'tb' : 'sw'}:${key}`,
      ...args,
    )) as number[]
    const [allowed, remaining, resetMs, retryAfterMs] = reply
    return {
      allowed: allowed === 1,
      limit: rule.burst,
      remaining: remaining!,
      resetMs: resetMs!,
      retryAfterMs: retryAfterMs!,
    }
  }

  #onError(request: TakeRequest, error: unknown): RateLimitResult {
    const { onStoreError: mode, name, registry, expectedProcesses, breakerOpenMs } = this.#options
    const skipped = error instanceof GuardError && error.code === 'E_CIRCUIT_OPEN'
    const cause = skipped ? undefined : error
    guardMetrics(registry)?.storeErrors.labels({ policy: name, mode }).inc()
    publish('store-error', () => ({ policy: name, mode, skipped, error: cause }))
    const { rule, cost } = request
    if (mode === 'closed') {
      const message = skipped ? `${name}: Redis is cut off by its breaker` : `${name}: the Redis call failed`
      throw new GuardError('E_BACKEND', message, { policy: name }, { cause: error })
    }
    if (mode === 'open') {
      return { allowed: true, limit: rule.burst, remaining: rule.burst - cost, resetMs: 0, retryAfterMs: 0 }
    }
    const share = sharedRule(rule, expectedProcesses)
    if (cost > share.burst) {
      return {
        allowed: false,
        limit: share.burst,
        remaining: share.burst,
        resetMs: 0,
        retryAfterMs: breakerOpenMs,
      }
    }
    return this.#local.takeSync({ key: request.key, rule: share, cost })
  }
}

/** This process's share of a rule while Redis is away. */
function sharedRule(rule: RateLimitRule, processes: number): RateLimitRule {
  const share = (n: number) => Math.max(1, Math.floor(n / processes))
  return {
    algorithm: rule.algorithm,
    windowMs: rule.windowMs,
    limit: share(rule.limit),
    burst: share(rule.burst),
  }
}

function resolveOptions(options: RedisStoreOptions): RedisRateLimitResolved {
  if (options === null || typeof options !== 'object' || !('client' in options || 'connection' in options)) {
    throw invalid('', 'an object with a connection or a client', options)
  }
  const { client: _client, connection: _connection, ...rest } = options as Record<string, unknown>
  const r = { ...redisStoreDefaults, ...stripUndefined(rest) } as RedisRateLimitResolved
  if (typeof r.prefix !== 'string') throw invalid('prefix', 'a string', r.prefix)
  if (!['open', 'closed', 'local'].includes(r.onStoreError)) {
    throw invalid('onStoreError', "'open', 'closed' or 'local'", r.onStoreError)
  }
  for (const name of ['expectedProcesses', 'breakerFailures', 'localMaxKeys'] as const) {
    if (!Number.isInteger(r[name]) || r[name] < 1) throw invalid(name, 'a positive integer', r[name])
  }
  for (const name of ['commandTimeoutMs', 'breakerOpenMs'] as const) {
    if (!Number.isFinite(r[name]) || r[name] <= 0) throw invalid(name, 'a positive number', r[name])
  }
  if (typeof r.name !== 'string' || r.name === '') throw invalid('name', 'a non-empty string', r.name)
  if (r.now !== undefined && typeof r.now !== 'function') throw invalid('now', 'a function', r.now)
  return Object.freeze(r)
}

type RedisRateLimitResolved = Readonly<typeof redisStoreDefaults> &
  Pick<RedisStoreOptions, 'registry' | 'now'>

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  const path = option === '' ? 'options' : `options.${option}`
  return new GuardError('E_INVALID_OPTION', `${path} must be ${rule}`, { option: path, value })
}
