export {
  AdaptiveTimeout,
  type AdaptiveTimeoutOptions,
  adaptiveTimeout,
  adaptiveTimeoutDefaults,
} from './adaptive-timeout.js'
export { type TimeoutOptions, TimeoutPolicy, timeout, timeoutDefaults } from './timeout.js'
