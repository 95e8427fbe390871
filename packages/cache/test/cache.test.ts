import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { CacheError, createCache, type L2Store, Limiter, memoryStore } from '../src/index.js'

/** A chaos wrapper: delays or fails every call of a store while `mode` says so. */
function chaos(inner: L2Store) {
  const control = { mode: 'ok' as 'ok' | 'slow' | 'down', calls: 0 }
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      control.calls++
      if (control.mode === 'down') throw new Error('connection refused')
      if (control.mode === 'slow') await sleep(2000)
      return fn(...args)
    }
  const store: L2Store = {
    acquire: wrap(inner.acquire.bind(inner)),
    peek: wrap(inner.peek.bind(inner)),
    fill: wrap(inner.fill.bind(inner)),
    delete: wrap(inner.delete.bind(inner)),
    close: () => inner.close(),
  }
  return { store, control }
}

describe('createCache options', () => {
  it('rejects a bad option, naming it', () => {
    expect(() => createCache({ ttlMs: 0 })).toThrow('options.ttlMs must be a positive number')
    expect(() => createCache({ jitter: 1 })).toThrow('options.jitter must be in [0, 1)')
    expect(() => createCache({ fallbackConcurrency: 1.5 })).toThrow(
      'options.fallbackConcurrency must be a positive integer',
    )
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
    const { store, control } = chaos(memoryStore())
    const cache = createCache({ l2: store })
    await cache.getOrLoad('k', async () => 1)
    const before = control.calls
    for (let i = 0; i < 100; i++) expect(await cache.getOrLoad('k', async () => 2)).toBe(1)
    expect(control.calls).toBe(before)
    expect(cache.stats().l1Hits).toBe(100)
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
    const l2 = memoryStore()
    const options = { l2, ttlMs: 30, jitter: 0, graceMs: 5000, l1Max: false } as const
    const [a, b] = [createCache(options), createCache(options)]
    await a.getOrLoad('k', async () => 'old')
    await sleep(60)
    let release!: () => void
    const reload = a.getOrLoad('k', () => new Promise<string>((resolve) => (release = () => resolve('new'))))
    await sleep(5)
    expect(await b.getOrLoad('k', async () => 'never')).toBe('old')
    expect(b.stats().staleHits).toBe(1)
    release()
    expect(await reload).toBe('new')
    expect(await b.getOrLoad('k', async () => 'never')).toBe('new')
  })

  it('cuts a slow L2 off within a second and serves reads from the loader under the limit', async () => {
    const { store, control } = chaos(memoryStore())
    const cache = createCache({ l2: store, l1Max: false, fallbackConcurrency: 2, l2TimeoutMs: 100 })
    control.mode = 'slow'
    let active = 0
    let peak = 0
    const loader = async (key: string) => {
      active++
      peak = Math.max(peak, active)
      await sleep(5)
      active--
      return key
    }
    const started = performance.now()
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.getOrLoad(`k${i}`, loader)))
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`))
    expect(cache.stats().breaker).toBe('open')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(peak).toBeLessThanOrEqual(2)
  })

  it('keeps deletes made while L2 is down and replays them before closing the breaker', async () => {
    const inner = memoryStore()
    const { store, control } = chaos(inner)
    const cache = createCache({ l2: store, l1Max: false, breakerCooldownMs: 50, breakerThreshold: 1 })
    await cache.getOrLoad('k', async () => 'old')
    control.mode = 'down'
    await cache.delete('k')
    expect(cache.stats()).toMatchObject({ breaker: 'open', pendingDeletes: 1 })
    control.mode = 'ok'
    await sleep(60)
    await cache.getOrLoad('x', async () => 'x') // the first call after the cooldown starts the probe
    for (let i = 0; i < 50 && cache.stats().breaker !== 'closed'; i++) await sleep(5)
    expect(cache.stats()).toMatchObject({ breaker: 'closed', pendingDeletes: 0 })
    expect(await cache.getOrLoad('k', async () => 'new')).toBe('new')
  })

  it('spreads TTLs by the jitter', async () => {
    const store = memoryStore()
    const cache = createCache({ l2: store, ttlMs: 1000, jitter: 0.5, l1Max: false, graceMs: 0 })
    await cache.getManyOrLoad(
      Array.from({ length: 50 }, (_, i) => `k${i}`),
      async (keys) => new Map(keys.map((k) => [k, k])),
    )
    await sleep(750)
    const fresh = (await store.peek(Array.from({ length: 50 }, (_, i) => `k${i}`))).filter((v) => v?.fresh)
    expect(fresh.length).toBeGreaterThan(0)
    expect(fresh.length).toBeLessThan(50)
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
