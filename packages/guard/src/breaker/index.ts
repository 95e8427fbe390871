export {
  type CircuitBreakerOptions,
  circuitBreakerDefaults,
  defaultIsFailure,
} from './breaker-options.js'
export { type BreakerState, type BreakerStats, CircuitBreaker, circuitBreaker } from './circuit-breaker.js'
