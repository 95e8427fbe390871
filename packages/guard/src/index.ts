export {
  type BreakerState,
  type BreakerStats,
  CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
  circuitBreakerDefaults,
  defaultIsFailure,
} from './breaker/index.js'
export * from './bulkhead/index.js'
export * from './concurrency/index.js'
export {
  type BudgetOptions,
  budget,
  budgetDefaults,
  DEADLINE_HEADER,
  type Deadline,
  type DeadlineFromHeadersOptions,
  deadline,
  deadlineAt,
  deadlineFromHeaders,
  deadlineHeaders,
  formatTimeout,
  type HeaderSource,
  linkDeadline,
  parseTimeout,
  remainingMs,
} from './deadline/index.js'
export * from './degrade/index.js'
export { GuardError, type GuardErrorCode, type GuardErrorContext } from './errors.js'
export {
  type AdaptiveTimeoutEvent,
  type BreakerStateEvent,
  channelName,
  GUARD_CHANNELS,
  type GuardMetrics,
  type RateLimitedEvent,
  type RejectedEvent,
  type StoreErrorEvent,
  type TimeoutEvent,
} from './observe/index.js'
export { type Policy, type PolicyContext, wrap } from './policy.js'
export {
  type HotKeyOptions,
  type KeyOf,
  MemoryStore,
  type MemoryStoreOptions,
  memoryStore,
  memoryStoreDefaults,
  type RateLimitAlgorithm,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitHeaderOptions,
  type RateLimitPolicyOptions,
  type RateLimitResult,
  type RateLimitRule,
  type RateLimitStore,
  rateLimit,
  rateLimiter,
  rateLimiterDefaults,
  rateLimitHeaders,
  retryAfterSeconds,
  slidingWindow,
  type TakeOptions,
  type TakeRequest,
  tokenBucket,
} from './rate-limit/index.js'
export {
  AdaptiveTimeout,
  type AdaptiveTimeoutOptions,
  adaptiveTimeout,
  adaptiveTimeoutDefaults,
  type TimeoutOptions,
  TimeoutPolicy,
  timeout,
  timeoutDefaults,
} from './timeout/index.js'
