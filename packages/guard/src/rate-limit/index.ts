export { type RateLimitHeaderOptions, rateLimitHeaders, retryAfterSeconds } from './headers.js'
export type { HotKeyOptions } from './hot-keys.js'
export { MemoryStore, type MemoryStoreOptions, memoryStore, memoryStoreDefaults } from './memory-store.js'
export { type KeyOf, type RateLimitPolicyOptions, rateLimit } from './rate-limit-policy.js'
export {
  RateLimiter,
  type RateLimiterOptions,
  rateLimiter,
  rateLimiterDefaults,
  slidingWindow,
  type TakeOptions,
  tokenBucket,
} from './rate-limiter.js'
export type {
  RateLimitAlgorithm,
  RateLimitResult,
  RateLimitRule,
  RateLimitStore,
  TakeRequest,
} from './store.js'
