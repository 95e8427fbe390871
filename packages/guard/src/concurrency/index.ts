export { type AimdOptions, aimd, aimdDefaults } from './aimd.js'
export {
  CONCURRENCY_CHANNELS,
  type ConcurrencyLimitEvent,
  type ConcurrencyLimitedEvent,
} from './concurrency-events.js'
export {
  type CallOutcome,
  ConcurrencyLimiter,
  type ConcurrencyLimiterStats,
  type ConcurrencyPermit,
  concurrencyLimiter,
} from './concurrency-limiter.js'
export {
  type ConcurrencyLimiterOptions,
  concurrencyLimiterDefaults,
  isOverloadError,
} from './concurrency-limiter-options.js'
export { fixed } from './fixed.js'
export { type Gradient2Options, gradient2, gradient2Defaults } from './gradient2.js'
export type { LimitAlgorithm } from './limit-algorithm.js'
export { type VegasLimit, type VegasOptions, vegas, vegasDefaults } from './vegas.js'
