/** A clock that moves only when told: pass `clock.now` as a policy's or store's `now` option. */
export interface FakeClock {
  /** The time, in ms. A bound function: `{ now: clock.now }` works. */
  readonly now: () => number
  /** Moves the time forward by `ms` (≥ 0); returns the new time. */
  advance(ms: number): number
  /** Sets the time (it may go back, to test clocks that step). */
  set(ms: number): void
}

/**
 * A fake clock for the guard's `now` options: breakers, limiters, stores and adaptive timeouts read time
 * from it, so tests move time by hand instead of waiting.
 *
 * @example
 * const clock = fakeClock(1_700_000_000_000)
 * const breaker = circuitBreaker({ consecutiveFailures: 3, openMs: 5_000, now: clock.now })
 * clock.advance(5_000) // the breaker now admits a probe
 */
export function fakeClock(startMs = 0): FakeClock {
  let time = startMs
  return {
    now: () => time,
    advance(ms: number): number {
      if (!(Number.isFinite(ms) && ms >= 0))
        throw new RangeError(`advance(ms) needs a finite ms ≥ 0, got ${ms}`)
      time += ms
      return time
    },
    set(ms: number): void {
      if (!Number.isFinite(ms)) throw new RangeError(`set(ms) needs a finite ms, got ${ms}`)
      time = ms
    },
  }
}
