import * as diagnostics from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  CACHE_CHANNELS,
  CacheError,
  cacheDefaults,
  createCache,
  type L2TrustEvent,
  Limiter,
  memoryStore,
} from '../src/index.js'
import { chaosStore } from '../src/testing/index.js'

afterEach(() => {
  vi.useRealTimers()
})

/** Fake timers for the breaker's timeouts and cooldowns, and `Date.now()` for it and the stores. */
const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })

/** Lets promise chains settle without moving the fake clock. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('per-call l1TtlMs', () => {
  it('keeps what that call loads in L1 for its own TTL, the rest for options.l1TtlMs', async () => {
    const cache = createCache({ l2: memoryStore(), l1TtlMs: 20, ttlMs: 60_000 })
    let loads = 0
    const load = async () => ++loads
    await cache.getOrLoad('short', load)
    await cache.getOrLoad('long', load, { l1TtlMs: 60_000 })
    await sleep(60)
    const before = cache.stats().l1Hits
    await cache.getOrLoad('short', load) // gone from L1: served by L2
    await cache.getOrLoad('long', load, { l1TtlMs: 60_000 }) // still in L1
    expect(cache.stats().l1Hits - before).toBe(1)
    expect(loads).toBe(2) // neither was loaded twice
    await cache.close()
  })
})

describe('createCache options', () => {
  it('rejects a bad option, naming it', () => {
    expect(() => createCache({ ttlMs: 0 })).toThrow('options.ttlMs must be a positive number')
    expect(() => createCache({ jitter: 1 })).toThrow('options.jitter must be in [0, 1)')
    expect(() => createCache({ fallbackConcurrency: 1.5 })).toThrow(
      'options.fallbackConcurrency must be a positive integer',
    )
    expect(() => createCache({ maxPendingDeletes: 0 })).toThrow(
      'options.maxPendingDeletes must be a positive integer',
    )
    expect(cacheDefaults.maxPendingDeletes).toBe(100_000)
    try {
      createCache({ l1Max: 0 })
    } catch (err) {
      expect(err).toBeInstanceOf(CacheError)
      expect((err as CacheError).code).toBe('E_INVALID_OPTION')
    }
  })
})

describe('Cache', () => {
  it('answers an L1 hit without touching L2', async () => {
    const { store, control } = chaosStore(memoryStore())
    const cache = createCache({ l2: store })
    await cache.getOrLoad('k', async () => 1)
    const before = control.calls
    for (let i = 0; i < 100; i++) expect(await cache.getOrLoad('k', async () => 2)).toBe(1)
    expect(control.calls).toBe(before)
    expect(cache.stats().l1Hits).toBe(100)
  })

  it("adds each call's L1 hits to the caller's tally, and nothing else", async () => {
    const cache = createCache()
    await cache.getManyOrLoad(['a', 'b'], async (keys) => new Map(keys.map((k) => [k, k])))
    const tally = { l1Hits: 0 }
    await cache.getOrLoad('a', async () => 'never', { tally })
    await cache.getManyOrLoad(['a', 'b', 'c'], async () => new Map([['c', 'c']]), { tally })
    expect(tally.l1Hits).toBe(3) // 'c' came from the loader
    await cache.getOrLoad('a', async () => 'never', { tally, bypassL1: true })
    expect(tally.l1Hits).toBe(3)
    expect(cache.stats().l1Hits).toBe(3)
  })

  it('lets one caller abort without failing the others sharing its load', async () => {
    const cache = createCache()
    const controller = new AbortController()
    const loader = async () => {
      await sleep(50)
      return 'v'
    }
    const first = cache.getOrLoad('k', loader, { signal: controller.signal })
    const second = cache.getOrLoad('k', loader)
    controller.abort()
    await expect(first).rejects.toMatchObject({ code: 'E_ABORTED' })
    expect(await second).toBe('v')
    expect(cache.stats().loads).toBe(1)
  })

  it('rethrows a loader error unchanged and caches nothing', async () => {
    const cache = createCache()
    const boom = new Error('db down')
    await expect(cache.getOrLoad('k', () => Promise.reject(boom))).rejects.toBe(boom)
    expect(cache.stats().loadErrors).toBe(1)
  })

  it('serves the stale value within grace to another node while one caller reloads', async () => {
    let now = 0
    const l2 = memoryStore({ now: () => now })
    const options = { l2, ttlMs: 30, jitter: 0, graceMs: 5000, l1Max: false } as const
    const [a, b] = [createCache(options), createCache(options)]
    await a.getOrLoad('k', async () => 'old')
    now = 60 // past the TTL, within grace
    let release: (() => void) | undefined
    const reload = a.getOrLoad('k', () => new Promise<string>((resolve) => (release = () => resolve('new'))))
    while (!release) await Promise.resolve() // a holds the lease and is loading
    expect(await b.getOrLoad('k', async () => 'never')).toBe('old')
    expect(b.stats().staleHits).toBe(1)
    release()
    expect(await reload).toBe('new')
    expect(await b.getOrLoad('k', async () => 'never')).toBe('new')
  })

  it('opens the breaker after breakerThreshold timed-out calls, then serves reads from the loader without touching L2', async () => {
    fakeClock()
    const { store, control } = chaosStore(memoryStore())
    const options = { l1Max: false, fallbackConcurrency: 2, l2TimeoutMs: 100, breakerThreshold: 3 } as const
    const cache = createCache({ l2: store, ...options })
    control.mode = 'hang'
    let active = 0
    let peak = 0
    const loader = async (key: string) => {
      active++
      peak = Math.max(peak, active)
      await settle()
      active--
      return key
    }
    // Closed: each read waits exactly l2TimeoutMs for L2, then loads.
    for (let i = 0; i < options.breakerThreshold; i++) {
      let done = false
      const read = cache.getOrLoad(`t${i}`, loader).finally(() => (done = true))
      await vi.advanceTimersByTimeAsync(options.l2TimeoutMs - 1)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(await read).toBe(`t${i}`)
    }
    expect(cache.stats()).toMatchObject({ breaker: 'open', breakerOpened: 1, l2Errors: 3 })
    expect(control.calls).toBe(options.breakerThreshold)
    // Open: 20 concurrent reads are served while the clock stands still, none reaches L2.
    const clock = Date.now()
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.getOrLoad(`k${i}`, loader)))
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`))
    expect(Date.now()).toBe(clock)
    expect(control.calls).toBe(options.breakerThreshold)
    expect(cache.stats()).toMatchObject({ breaker: 'open', fallbackLoads: 23 })
    expect(peak).toBe(2)
  })

  it("is @hundredfold/guard's circuit breaker: its moves are published on the guard's breaker-state channel", async () => {
    const events: { policy: string; from: string; to: string }[] = []
    const listener = (e: unknown) => events.push(e as (typeof events)[number])
    diagnostics.subscribe('hundredfold:guard:breaker-state', listener)
    try {
      const { store, control } = chaosStore(memoryStore())
      const cache = createCache({ l2: store, l1Max: false, breakerThreshold: 1 })
      control.mode = 'down'
      await cache.getOrLoad('k', async () => 'v')
      expect(cache.stats().breaker).toBe('open')
      expect(events).toContainEqual(
        expect.objectContaining({ policy: 'cache-l2', from: 'closed', to: 'open' }),
      )
      await cache.close()
    } finally {
      diagnostics.unsubscribe('hundredfold:guard:breaker-state', listener)
    }
  })

  it('keeps deletes made while L2 is down and replays them before closing the breaker', async () => {
    fakeClock()
    const { store, control } = chaosStore(memoryStore())
    const cache = createCache({ l2: store, l1Max: false, breakerCooldownMs: 50, breakerThreshold: 1 })
    await cache.getOrLoad('k', async () => 'old')
    control.mode = 'down'
    await cache.delete('k')
    expect(cache.stats()).toMatchObject({ breaker: 'open', pendingDeletes: 1, droppedDeletes: 0 })
    control.mode = 'ok'
    await vi.advanceTimersByTimeAsync(49)
    await cache.getOrLoad('x', async () => 'x')
    expect(cache.stats().breaker).toBe('open') // still cooling down: no probe yet
    expect(control.byMethod.delete).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    await cache.getOrLoad('x', async () => 'x') // the first call after the cooldown starts the probe
    await settle()
    expect(cache.stats()).toMatchObject({ breaker: 'closed', pendingDeletes: 0, l2Trusted: true })
    expect(control.byMethod.delete).toBe(2) // the replay
    expect(await cache.getOrLoad('k', async () => 'new')).toBe('new')
  })

  it('spreads TTLs by the jitter', async () => {
    let now = 0
    const store = memoryStore({ now: () => now })
    const cache = createCache({ l2: store, ttlMs: 1000, jitter: 0.5, l1Max: false, graceMs: 0 })
    await cache.getManyOrLoad(
      Array.from({ length: 50 }, (_, i) => `k${i}`),
      async (keys) => new Map(keys.map((k) => [k, k])),
    )
    now = 750 // each TTL is in (500, 1000]: about half are fresh still
    const fresh = (await store.peek(Array.from({ length: 50 }, (_, i) => `k${i}`))).filter((v) => v?.fresh)
    expect(fresh.length).toBeGreaterThan(0)
    expect(fresh.length).toBeLessThan(50)
  })
})

describe('Cache past maxPendingDeletes (L2 down for long)', () => {
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5']
  const events: L2TrustEvent[] = []
  const listen = (event: unknown) => events.push(event as L2TrustEvent)
  beforeEach(() => {
    events.length = 0
    diagnostics.subscribe(CACHE_CHANNELS.l2Trust, listen)
  })
  afterEach(() => {
    diagnostics.unsubscribe(CACHE_CHANNELS.l2Trust, listen)
  })
  const payloads = async (store: ReturnType<typeof memoryStore>) =>
    (await store.peek(keys)).map((stored) => stored?.payload)

  /**
   * Five keys cached as "old"; then L2 goes down (keeping its data), the database changes to "new"
   * and the five are deleted: two deletes are kept, three dropped; then L2 comes back.
   */
  async function outageThatDropsDeletes(extra: { ttlMs?: number } = {}) {
    const inner = memoryStore()
    const { store, control } = chaosStore(inner)
    const errors: unknown[] = []
    const cache = createCache({
      l2: store,
      nodeId: 'a',
      l1Max: false,
      breakerThreshold: 1,
      breakerCooldownMs: 50,
      maxPendingDeletes: 2,
      onError: (err) => errors.push(err),
    })
    const db = { value: 'old', loads: 0 }
    const load = async () => {
      db.loads++
      return db.value
    }
    for (const key of keys) await cache.getOrLoad(key, load, extra)
    const droppedAt = Date.now()
    control.mode = 'down'
    db.value = 'new'
    for (const key of keys) await cache.delete(key)
    const duringOutage = cache.stats()
    control.mode = 'ok'
    await vi.advanceTimersByTimeAsync(50)
    await cache.getOrLoad('other', load) // the first call after the cooldown starts the probe
    await settle()
    return { cache, inner, control, errors, db, load, droppedAt, duringOutage }
  }

  it('counts every dropped delete, and serves none of those keys stale from L2 after recovery', async () => {
    fakeClock()
    const run = await outageThatDropsDeletes()
    const { cache, inner, load, db } = run
    expect(run.duringOutage).toMatchObject({
      breaker: 'open',
      pendingDeletes: 2,
      droppedDeletes: 3,
      l2Trusted: false,
    })
    // The outage kept L2's data: the old values whose deletes were dropped are still there.
    expect(await payloads(inner)).toEqual(['v"old"', 'v"old"', 'v"old"', undefined, undefined])
    const untrustedUntil = run.droppedAt + cacheDefaults.ttlMs + cacheDefaults.graceMs + cacheDefaults.leaseMs
    expect(events).toEqual([
      { nodeId: 'a', trusted: false, reason: 'deletes-dropped', droppedDeletes: 1, untrustedUntil },
    ])
    const told = run.errors.filter((err) => err instanceof CacheError && err.code === 'E_L2_DELETES_DROPPED')
    expect(told).toHaveLength(1)
    expect((told[0] as CacheError).context).toEqual({
      droppedDeletes: 1,
      maxPendingDeletes: 2,
      untrustedUntil,
    })

    expect(cache.stats()).toMatchObject({ breaker: 'closed', pendingDeletes: 0, l2Trusted: false })
    const loadsBefore = db.loads
    for (const key of keys) expect(await cache.getOrLoad(key, load)).toBe('new')
    expect(db.loads - loadsBefore).toBe(keys.length)
    expect(cache.stats().distrustedKeysCleared).toBe(keys.length)
    // L2 itself now holds the new values, for every node reading it.
    expect(await payloads(inner)).toEqual(Array(keys.length).fill('v"new"'))
    // Each key is cleared once per episode: the next reads are L2 hits again.
    for (const key of keys) expect(await cache.getOrLoad(key, load)).toBe('new')
    expect(cache.stats()).toMatchObject({ distrustedKeysCleared: keys.length, l2Hits: keys.length })
    expect(db.loads - loadsBefore).toBe(keys.length)
  })

  it('trusts L2 again once the longest TTL a value was written with (plus grace and lease) has passed', async () => {
    fakeClock()
    const ttlMs = 120_000 // a per-call TTL longer than options.ttlMs
    const run = await outageThatDropsDeletes({ ttlMs })
    const { cache, load } = run
    const trustedAt = run.droppedAt + ttlMs + cacheDefaults.graceMs + cacheDefaults.leaseMs
    expect(events.at(-1)).toMatchObject({ trusted: false, untrustedUntil: trustedAt })
    await vi.advanceTimersByTimeAsync(trustedAt - 1 - Date.now())
    expect(cache.stats().l2Trusted).toBe(false)
    await cache.getOrLoad('late', load)
    expect(cache.stats().distrustedKeysCleared).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(cache.stats().l2Trusted).toBe(true)
    expect(events.at(-1)).toEqual({
      nodeId: 'a',
      trusted: true,
      reason: 'expired',
      droppedDeletes: 3,
      untrustedUntil: 0,
    })
    await cache.getOrLoad('later', load)
    expect(cache.stats().distrustedKeysCleared).toBe(1)
  })

  it('trusts L2 again after resync() emptied it; refuses to resync while the breaker is open', async () => {
    fakeClock()
    const run = await outageThatDropsDeletes()
    const { cache, inner, control, load } = run
    await cache.resync()
    expect(cache.stats()).toMatchObject({ l2Trusted: true, distrustedKeysCleared: 0 })
    expect(events.at(-1)).toMatchObject({ trusted: true, reason: 'resync', untrustedUntil: 0 })
    expect(await payloads(inner)).toEqual(Array(keys.length).fill(undefined))
    for (const key of keys) expect(await cache.getOrLoad(key, load)).toBe('new')
    expect(cache.stats().distrustedKeysCleared).toBe(0)

    control.mode = 'down'
    await cache.delete('k1')
    await expect(cache.resync()).rejects.toMatchObject({ code: 'E_L2_UNAVAILABLE' })
  })
})

describe('memoryStore', () => {
  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const store = memoryStore({ maxEntries: 2 })
    for (const key of ['a', 'b', 'c']) {
      await store.acquire([key], [`t-${key}`], 5000)
      await store.fill([{ key, token: `t-${key}`, payload: key, ttlMs: 5000, graceMs: 0 }])
    }
    expect(await store.peek(['a', 'b', 'c'])).toEqual([
      undefined,
      { payload: 'b', fresh: true },
      { payload: 'c', fresh: true },
    ])
    expect(() => memoryStore({ maxEntries: 0 })).toThrow('options.maxEntries must be a positive integer')
  })
})

describe('Limiter', () => {
  it('runs at most its limit at once, in order', async () => {
    const limiter = new Limiter(2)
    const order: number[] = []
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        limiter.run(async () => {
          expect(limiter.active).toBeLessThanOrEqual(2)
          await sleep(5)
          order.push(n)
        }),
      ),
    )
    expect(order).toEqual([1, 2, 3, 4])
  })
})
