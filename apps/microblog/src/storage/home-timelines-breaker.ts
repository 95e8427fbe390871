import { type CircuitBreaker, circuitBreaker } from '@hundredfold/guard'
import type { HomeTimelines } from './home-timelines.js'

/** How the breaker around a shared home-timeline store trips and recovers. */
export interface HomeTimelinesBreakerOptions {
  /** Failures in a row that open it. @default 5 */
  consecutiveFailures?: number
  /** How long it stays open before one call is let through to try the store again. @default 1000 */
  openMs?: number
}

/**
 * The store behind a circuit breaker (`@hundredfold/guard`'s, named `home-timelines`): after
 * `consecutiveFailures` failures in a row — Redis down, each command failing only after a reconnect
 * delay — every call fails at once (`E_CIRCUIT_OPEN`) for `openMs`, so home reads go to the database
 * query without waiting and consumers back off, then one call tries the store again. `ping` is never
 * short-circuited: readiness must see the store itself.
 *
 * @example
 * const homes = breakerHomeTimelines(redisHomeTimelines({ connection, max: 800 }))
 */
export function breakerHomeTimelines(
  inner: HomeTimelines,
  options: HomeTimelinesBreakerOptions = {},
): HomeTimelines & { readonly breaker: CircuitBreaker } {
  const breaker = circuitBreaker({
    name: 'home-timelines',
    consecutiveFailures: options.consecutiveFailures ?? 5,
    failureRatio: false,
    openMs: options.openMs ?? 1000,
    halfOpenProbes: 1,
  })
  const run = <T>(fn: () => Promise<T>, signal?: AbortSignal) => breaker.execute(() => fn(), signal)
  return {
    breaker,
    max: inner.max,
    read: (userId, page, signal) => run(() => inner.read(userId, page, signal), signal),
    add: (deliveries, signal) => run(() => inner.add(deliveries, signal), signal),
    beginBuild: (userId, signal) => run(() => inner.beginBuild(userId, signal), signal),
    finishBuild: (userId, token, entries, signal) =>
      run(() => inner.finishBuild(userId, token, entries, signal), signal),
    invalidate: (userIds, signal) => run(() => inner.invalidate(userIds, signal), signal),
    ping: (signal) => inner.ping(signal),
    dump: (userId, signal) => inner.dump(userId, signal),
    close: () => inner.close(),
  }
}
