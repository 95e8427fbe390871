import { abortedError, GuardError } from '../errors.js'
import type { Policy, PolicyContext } from '../policy.js'
import type { RateLimiter } from './rate-limiter.js'

/** Where the policy gets the key (and cost) of a call: a constant, or a function of the call's context. */
export type KeyOf = string | ((context: PolicyContext) => string)

/** Options of {@link rateLimit}. */
export interface RateLimitPolicyOptions {
  /** Units a call costs. @default 1 */
  cost?: number | ((context: PolicyContext) => number)
}

const never = new AbortController().signal

/**
 * A rate limiter as a {@link Policy}: each call takes from `keyOf`'s quota first and rejects with a
 * `GuardError` `E_RATE_LIMITED` (carrying `retryAfterMs`, `limit`, `remaining`, `key`) when refused.
 *
 * @example
 * const perTenant = rateLimit(limiter, () => `tenant:${tenantId}`)
 * await wrap(perTenant, breaker, timeout({ ms: 500 })).execute(({ signal }) => search(query, { signal }), req.signal)
 */
export function rateLimit(limiter: RateLimiter, keyOf: KeyOf, options: RateLimitPolicyOptions = {}): Policy {
  if (typeof keyOf !== 'string' && typeof keyOf !== 'function') {
    throw new GuardError('E_INVALID_OPTION', 'keyOf must be a string or a function', {
      option: 'keyOf',
      value: keyOf,
    })
  }
  const { cost = 1 } = options
  return {
    async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) throw abortedError(signal)
      const context: PolicyContext = { signal: signal ?? never }
      const key = typeof keyOf === 'string' ? keyOf : keyOf(context)
      const units = typeof cost === 'number' ? cost : cost(context)
      const result = await limiter.take(key, { cost: units, signal })
      if (!result.allowed) {
        const { limit, remaining, retryAfterMs } = result
        throw new GuardError('E_RATE_LIMITED', `${limiter.name}: rate limit reached for ${key}`, {
          policy: limiter.name,
          key,
          limit,
          remaining,
          retryAfterMs,
        })
      }
      return fn(context)
    },
  }
}
