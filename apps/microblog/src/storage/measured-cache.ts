import type { Cache, Loader, ManyLoader } from '@hundredfold/cache'
import type { RequestTiming } from '../request-timing.js'

/**
 * A read's options: the caller's deadline, L1 bypass, TTLs for what it loads (`ttlMs` in L2, `l1TtlMs`
 * in L1, as in `GetOptions`), and the request's timing (`cache` stage).
 */
export interface CacheReadOptions {
  signal?: AbortSignal | undefined
  bypassL1?: boolean | undefined
  ttlMs?: number | undefined
  l1TtlMs?: number | undefined
  timing?: RequestTiming | undefined
}

/**
 * TTLs for a value that never changes once written (a post body, a username's or external id's user
 * id): no write can make a cached copy stale, so it may stay far longer than the cache's defaults,
 * which bound the staleness of values that do change.
 */
export const IMMUTABLE = { ttlMs: 3_600_000, l1TtlMs: 600_000 } as const

/**
 * TTLs for a value every write deletes and nothing checks access against (an author's newest post
 * keys): the delete reaches L2 before the write is acknowledged and every L1 through the bus (a bus that
 * reconnects clears L1), so the TTL is only a backstop. The cache's 60 s default sent each list back to
 * the database once a minute however often it was read, most of the user timeline's misses. Profiles
 * keep the 60 s: a token check reads them, and their TTL bounds how long a revoked token could pass
 * should an invalidation be lost.
 */
export const DELETED_ON_WRITE = { ttlMs: 600_000, l1TtlMs: 600_000 } as const

/**
 * The read cache as services use it: `Cache`'s reads and deletes, each adding to the request's
 * `cache` stage when its options carry a `timing` — its duration, the keys asked, those L1 served
 * (the cache counts them into the timing, its `tally`) and those this call's loader loaded. Without a
 * timing a call goes straight through.
 *
 * @example
 * const cache = new MeasuredCache(createCache())
 * const user = await cache.getOrLoad(`user:${id}`, loadUser, { signal, timing: request.ctx.timing })
 */
export class MeasuredCache {
  readonly #cache: Cache

  constructor(cache: Cache) {
    this.#cache = cache
  }

  getOrLoad<V>(key: string, loader: Loader<V>, options: CacheReadOptions = {}): Promise<V | undefined> {
    const { timing } = options
    if (timing === undefined) return this.#cache.getOrLoad(key, loader, options)
    return this.#getOrLoad(key, loader, options, timing)
  }

  getManyOrLoad<V>(
    keys: readonly string[],
    loader: ManyLoader<V>,
    options: CacheReadOptions = {},
  ): Promise<Map<string, V>> {
    const { timing } = options
    if (timing === undefined) return this.#cache.getManyOrLoad(keys, loader, options)
    return this.#getManyOrLoad(keys, loader, options, timing)
  }

  async delete(
    keys: string | readonly string[],
    options: { signal?: AbortSignal | undefined; timing?: RequestTiming | undefined } = {},
  ): Promise<void> {
    const { timing } = options
    if (timing === undefined) return this.#cache.delete(keys, options)
    const start = performance.now()
    try {
      await this.#cache.delete(keys, options)
    } finally {
      timing.cacheDelete(start, typeof keys === 'string' ? 1 : keys.length)
    }
  }

  async #getOrLoad<V>(
    key: string,
    loader: Loader<V>,
    options: CacheReadOptions,
    timing: RequestTiming,
  ): Promise<V | undefined> {
    const start = performance.now()
    try {
      return await this.#cache.getOrLoad(
        key,
        (k, signal) => {
          timing.cacheLoaded++
          return loader(k, signal)
        },
        { ...options, tally: timing },
      )
    } finally {
      timing.cache(start, 1)
    }
  }

  async #getManyOrLoad<V>(
    keys: readonly string[],
    loader: ManyLoader<V>,
    options: CacheReadOptions,
    timing: RequestTiming,
  ): Promise<Map<string, V>> {
    const start = performance.now()
    try {
      return await this.#cache.getManyOrLoad(
        keys,
        (missing, signal) => {
          timing.cacheLoaded += missing.length
          return loader(missing, signal)
        },
        { ...options, tally: timing },
      )
    } finally {
      timing.cache(start, keys.length)
    }
  }
}
