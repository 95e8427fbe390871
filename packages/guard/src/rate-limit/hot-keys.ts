import type { RateLimitResult, RateLimitRule } from './store.js'

/**
 * Hot-parameter limits (Sentinel's hot-param flow control): a few keys get their own, stricter limit,
 * named up front or found automatically.
 */
export interface HotKeyOptions {
  /** Named keys and their limit per window, e.g. `{ 'user:42': 10 }`. Their bucket holds that many. */
  keys?: Readonly<Record<string, number>>
  /**
   * Automatic: a key that has used at least this much of its quota (`limit − remaining` in a take's
   * answer, so on a shared store it is measured cluster-wide) becomes hot. Needs `limit`. @default off
   */
  threshold?: number
  /** Automatic: the limit per window a hot key gets while hot. */
  limit?: number
  /** Automatic: how long a key stays hot after it crossed the threshold, in ms. @default the window */
  holdMs?: number
  /** Automatic: keys held hot at once; past it the longest-held is dropped first. @default 1_000 */
  maxKeys?: number
}

/** The rule a take runs under, and the store key it uses. @internal */
export interface Resolved {
  rule: RateLimitRule
  storeKey: string
  hot: boolean
}

/** Picks the rule for a key and marks keys hot. @internal */
export class HotKeys {
  readonly #named: ReadonlyMap<string, RateLimitRule>
  readonly #auto: { threshold: number; rule: RateLimitRule; holdMs: number; maxKeys: number } | undefined
  // key → hot until (ms); insertion order is the order keys became hot.
  readonly #hot = new Map<string, number>()

  constructor(base: RateLimitRule, options: HotKeyOptions | undefined) {
    const strict = (limit: number): RateLimitRule => Object.freeze({ ...base, limit, burst: limit })
    this.#named = new Map(Object.entries(options?.keys ?? {}).map(([key, limit]) => [key, strict(limit)]))
    this.#auto =
      options?.threshold === undefined
        ? undefined
        : {
            threshold: options.threshold,
            rule: strict(options.limit!),
            holdMs: options.holdMs ?? base.windowMs,
            maxKeys: options.maxKeys ?? 1_000,
          }
  }

  resolve(name: string, key: string, base: RateLimitRule, now: number): Resolved {
    const named = this.#named.get(key)
    if (named) return { rule: named, storeKey: `${name}:hot:${key}`, hot: true }
    if (this.#auto) {
      const until = this.#hot.get(key)
      if (until !== undefined) {
        if (now < until) return { rule: this.#auto.rule, storeKey: `${name}:hot:${key}`, hot: true }
        this.#hot.delete(key)
      }
    }
    return { rule: base, storeKey: `${name}:${key}`, hot: false }
  }

  /** After a take under the base rule: marks the key hot if it crossed the threshold. */
  observe(key: string, result: RateLimitResult, now: number): void {
    const auto = this.#auto
    if (!auto || result.limit - result.remaining < auto.threshold) return
    this.#hot.delete(key)
    this.#hot.set(key, now + auto.holdMs)
    if (this.#hot.size > auto.maxKeys) this.#hot.delete(this.#hot.keys().next().value!)
  }

  /** Keys hot now (named ones excluded). */
  hotKeys(now: number): string[] {
    return [...this.#hot].filter(([, until]) => now < until).map(([key]) => key)
  }
}
