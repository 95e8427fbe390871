/**
 * What every guard policy shares to be observed: `diagnostics_channel` events on `hundredfold:guard:<event>`
 * and the metrics families on an optional `@hundredfold/metrics` registry.
 */
export {
  type AdaptiveTimeoutEvent,
  type BreakerStateEvent,
  channelName,
  GUARD_CHANNELS,
  publish,
  type RateLimitedEvent,
  type RejectedEvent,
  type StoreErrorEvent,
  type TimeoutEvent,
} from './channels.js'
export {
  counterOn,
  countRejection,
  type GuardMetrics,
  gaugeOn,
  guardMetrics,
  histogramOn,
} from './metrics.js'
