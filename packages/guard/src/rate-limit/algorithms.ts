import type { RateLimitResult, RateLimitRule } from './store.js'

// The arithmetic of both algorithms, on integers only so it is exact (and the Redis scripts, which repeat
// it in Lua, give the same answers). `@internal` throughout: stores call these, users call limiters.

/**
 * Token-bucket state: `level` is tokens × `windowMs` (so a refill of `limit` tokens per window adds
 * exactly `limit` per ms), as of `at` (ms). A full bucket has no state.
 */
export interface TokenBucketState {
  level: number
  at: number
}

/** Sliding-window-counter state: the counts of fixed window `window` (index) and of the one before. */
export interface SlidingWindowState {
  window: number
  current: number
  previous: number
}

/** A take and the state to keep (`undefined`: nothing to keep, as for a key never seen). @internal */
export interface Outcome<S> {
  state: S | undefined
  result: RateLimitResult
}

/** One take from a token bucket holding `burst` tokens, refilled at `limit` per `windowMs`. @internal */
export function takeTokenBucket(
  state: TokenBucketState | undefined,
  now: number,
  rule: RateLimitRule,
  cost: number,
): Outcome<TokenBucketState> {
  const { limit, windowMs: w, burst } = rule
  const cap = burst * w
  let level = cap
  let at = now
  if (state) {
    // A clock that steps back refills nothing (and keeps the later time, so nothing refills twice).
    at = Math.max(state.at, now)
    level = now > state.at ? Math.min(cap, state.level + (now - state.at) * limit) : state.level
  }
  const need = cost * w
  const allowed = level >= need
  if (allowed) level -= need
  let retryAfterMs = 0
  if (!allowed) {
    retryAfterMs = Math.ceil((need - level) / limit)
    while (level + retryAfterMs * limit < need) retryAfterMs++
    while (retryAfterMs > 0 && level + (retryAfterMs - 1) * limit >= need) retryAfterMs--
  }
  return {
    state: level >= cap ? undefined : { level, at },
    result: {
      allowed,
      limit: burst,
      remaining: Math.floor(level / w),
      resetMs: Math.ceil((cap - level) / limit),
      retryAfterMs,
    },
  }
}

/**
 * One take from a sliding-window counter: the count of the current fixed window plus the previous one's,
 * weighted by how much of it still overlaps the sliding window, must stay within `limit`. @internal
 */
export function takeSlidingWindow(
  state: SlidingWindowState | undefined,
  now: number,
  rule: RateLimitRule,
  cost: number,
): Outcome<SlidingWindowState> {
  const { limit, windowMs: w } = rule
  let index = Math.floor(now / w)
  let current = 0
  let previous = 0
  if (state) {
    if (state.window > index) index = state.window // the clock stepped back: stay in the later window
    if (state.window === index) {
      current = state.current
      previous = state.previous
    } else if (state.window === index - 1) previous = state.current
  }
  const elapsed = Math.max(0, now - index * w)
  // Everything × w, so the weight (w − elapsed) / w stays an integer.
  const fits = (prev: number, prevWeight: number, curr: number) => prev * prevWeight + curr * w <= limit * w
  const allowed = fits(previous, w - elapsed, current + cost)
  if (allowed) current += cost
  let retryAfterMs = 0
  if (!allowed) {
    if (current + cost <= limit) {
      // Within this window, as the previous one's weight fades.
      retryAfterMs = Math.max(
        0,
        Math.ceil((previous * (w - elapsed) - (limit - cost - current) * w) / previous),
      )
      while (!fits(previous, w - elapsed - retryAfterMs, current + cost)) retryAfterMs++
      while (retryAfterMs > 0 && fits(previous, w - elapsed - retryAfterMs + 1, current + cost))
        retryAfterMs--
    } else {
      // Only in the next window, where this window's count becomes the fading one.
      let into = Math.max(0, Math.ceil(w - ((limit - cost) * w) / current))
      while (!fits(current, w - into, cost)) into++
      while (into > 0 && fits(current, w - into + 1, cost)) into--
      retryAfterMs = w - elapsed + into
    }
  }
  const used = previous * (w - elapsed) + current * w
  const resetMs = current > 0 ? 2 * w - elapsed : previous > 0 ? w - elapsed : 0
  return {
    state: current === 0 && previous === 0 ? undefined : { window: index, current, previous },
    result: {
      allowed,
      limit,
      remaining: Math.max(0, Math.floor((limit * w - used) / w)),
      resetMs,
      retryAfterMs,
    },
  }
}
