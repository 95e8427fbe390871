/** The two algorithms every limiter store implements. */
export type RateLimitAlgorithm = 'token-bucket' | 'sliding-window'

/**
 * What one limit is: `limit` units per `windowMs`, and for a token bucket a capacity of `burst` (a
 * sliding window's `burst` equals its `limit`). All integers ≥ 1.
 */
export interface RateLimitRule {
  readonly algorithm: RateLimitAlgorithm
  readonly limit: number
  readonly windowMs: number
  readonly burst: number
}

/** The answer to one take. */
export interface RateLimitResult {
  /** Whether the take was granted (a refused take consumes nothing). */
  allowed: boolean
  /** The most that can be held: the bucket's capacity (`burst`), or the window's `limit`. */
  limit: number
  /** What is left after this take, in units (≥ 0). */
  remaining: number
  /** How long until the quota is whole again if nothing more is taken, in ms. */
  resetMs: number
  /** Refused: the least wait, in ms, after which the same take would be granted; 0 when allowed. */
  retryAfterMs: number
}

/** One take as a store sees it: the key (already namespaced by the limiter), the rule and the cost. */
export interface TakeRequest {
  readonly key: string
  readonly rule: RateLimitRule
  readonly cost: number
}

/**
 * Where limiter state lives: in process (`memoryStore`) or shared (`redisStore` from
 * `@hundredfold/guard/redis`). Every store passes `registerRateLimitContract` from `@hundredfold/guard/testing`.
 */
export interface RateLimitStore {
  /** Takes `cost` units from `key` under `rule` if the quota allows, atomically. */
  take(request: TakeRequest, signal?: AbortSignal): Promise<RateLimitResult>
  /** Lets go of what the store holds (connections it opened). */
  close(): Promise<void>
}
