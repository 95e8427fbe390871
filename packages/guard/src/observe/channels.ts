import * as diagnostics from 'node:diagnostics_channel'

/**
 * `diagnostics_channel` names the guard publishes on, each `hundredfold:guard:<event>`. Subscribe to observe
 * without a logger; nothing is built or sent while a channel has no subscriber.
 *
 * - `breaker-state` {@link BreakerStateEvent}: a circuit breaker changed state.
 * - `breaker-rejected` {@link RejectedEvent}: an open (or saturated half-open) breaker refused a call.
 * - `rate-limited` {@link RateLimitedEvent}: a rate limiter refused a take.
 * - `timeout` {@link TimeoutEvent}: a timeout policy gave up on a call.
 * - `deadline-exceeded` {@link RejectedEvent}: a call was refused because its deadline left too little budget.
 * - `adaptive-timeout` {@link AdaptiveTimeoutEvent}: an adaptive timeout moved its bound.
 * - `store-error` {@link StoreErrorEvent}: a shared limiter store (Redis) failed a call and the configured failure mode answered.
 *
 * Other parts of the guard publish on their own `hundredfold:guard:<event>` names through {@link publish}.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(GUARD_CHANNELS.breakerState, (event) => log.warn(event, 'breaker changed state'))
 */
export const GUARD_CHANNELS = Object.freeze({
  breakerState: 'hundredfold:guard:breaker-state',
  breakerRejected: 'hundredfold:guard:breaker-rejected',
  rateLimited: 'hundredfold:guard:rate-limited',
  timeout: 'hundredfold:guard:timeout',
  deadlineExceeded: 'hundredfold:guard:deadline-exceeded',
  adaptiveTimeout: 'hundredfold:guard:adaptive-timeout',
  storeError: 'hundredfold:guard:store-error',
})

/** What `breaker-state` carries. */
export interface BreakerStateEvent {
  policy: string
  from: 'closed' | 'open' | 'half-open' | 'isolated'
  to: 'closed' | 'open' | 'half-open' | 'isolated'
  /** Why: the trigger that opened it, `probe-failed`, `probes-succeeded`, `open-elapsed`, `isolate`, `reset`. */
  reason: string
  /** While open: how long until the first probe, in ms. */
  openMs?: number
}

/** What `breaker-rejected` and `deadline-exceeded` carry. */
export interface RejectedEvent {
  policy: string
  code: string
  retryAfterMs?: number
}

/** What `rate-limited` carries. */
export interface RateLimitedEvent {
  policy: string
  key: string
  limit: number
  remaining: number
  retryAfterMs: number
  /** `true` when the key was limited by a hot-key rule rather than the limiter's default one. */
  hot: boolean
}

/** What `timeout` carries. */
export interface TimeoutEvent {
  policy: string
  timeoutMs: number
}

/** What `adaptive-timeout` carries. */
export interface AdaptiveTimeoutEvent {
  policy: string
  /** The bound before and after, in ms. */
  previousMs: number
  timeoutMs: number
  /** The measured percentile the bound follows, in ms (NaN before enough samples). */
  percentileMs: number
  samples: number
}

/** What `store-error` carries. */
export interface StoreErrorEvent {
  policy: string
  /** What answered instead of the store. */
  mode: 'open' | 'closed' | 'local'
  /** `true` when the store was not even tried (its breaker is open). */
  skipped: boolean
  error: unknown
}

const PREFIX = 'hundredfold:guard:'
const channels = new Map<string, diagnostics.Channel>()

/**
 * The full channel name of a guard event: `hundredfold:guard:<event>`.
 *
 * @example
 * diagnostics.subscribe(channelName('bulkhead-full'), onFull)
 */
export function channelName(event: string): string {
  return PREFIX + event
}

/**
 * Publishes `payload` on `hundredfold:guard:<event>`. Cheap when nobody listens: `payload` may be a
 * function, called only if the channel has subscribers, so hot paths build no event object in vain.
 *
 * @example
 * publish('bulkhead-full', () => ({ policy: name, queued, maxQueued }))
 */
export function publish(event: string, payload: object | (() => object)): void {
  let channel = channels.get(event)
  if (!channel) {
    channel = diagnostics.channel(PREFIX + event)
    channels.set(event, channel)
  }
  if (!channel.hasSubscribers) return
  channel.publish(typeof payload === 'function' ? payload() : payload)
}
