import { setTimeout as sleep } from 'node:timers/promises'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisBus, redisStore } from '../src/drivers/redis/index.js'
import { type BreakerState, type Cache, CacheError, cacheDefaults, createCache } from '../src/index.js'
import { chaosStore } from '../src/testing/index.js'
import { type OwnRedis, startOwnRedis } from './fixtures/own-redis.js'

const KEYS = 200
const WORKERS = 16

/** Calls `poke` until `done()` holds, at most `tries` times: a wait, not an assertion. */
async function until(done: () => boolean, poke: () => Promise<unknown>, tries = 400): Promise<void> {
  for (let i = 0; i < tries && !done(); i++) {
    await poke()
    await sleep(25)
  }
}

describe('Redis stopped mid-run and restarted (own Redis, PostgreSQL)', () => {
  let db: TemporaryDatabase
  let pool: pg.Pool
  let redis: OwnRedis

  beforeAll(async () => {
    redis = await startOwnRedis()
    db = await temporaryDatabase({ prefix: 'cache_outage' })
    pool = new pg.Pool({ connectionString: db.url, max: 16 })
    pool.on('error', () => {})
    await pool.query('CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)')
    await pool.query(`INSERT INTO kv SELECT g, md5(g::text) FROM generate_series(1, ${KEYS}) g`)
  })
  afterAll(async () => {
    await redis?.stop()
    await pool?.end()
    await db?.drop()
  })

  const load = async (key: string) => {
    const { rows } = await pool.query<{ v: string }>('SELECT v FROM kv WHERE k = $1', [Number(key)])
    return rows[0]?.v
  }

  it('serves every read, opens the breaker after breakerThreshold failed calls, never calls Redis while open, and closes after the restart', async () => {
    // A pass-through chaos store: it only counts the calls that reach Redis.
    const { store, control } = chaosStore(redisStore({ connection: redis.url }))
    const bus = redisBus({ connection: redis.url })
    const codes: string[] = []
    const cache: Cache = createCache({
      l2: store,
      bus,
      l1TtlMs: 500,
      fallbackConcurrency: 8,
      onError: (err) => codes.push(err instanceof CacheError ? err.code : 'other'),
    })
    let callsWhileOpen = 0
    control.onCall = () => {
      if (cache.stats().breaker === 'open') callsWhileOpen++
    }
    await cache.ready()
    const states: BreakerState[] = []
    let errors = 0
    let readsWhileOpen = 0
    let running = true
    const worker = async () => {
      while (running) {
        const key = String(1 + Math.floor(Math.random() * KEYS))
        const before = cache.stats().breaker
        try {
          const value = await cache.getOrLoad(key, load)
          if (typeof value !== 'string') errors++
        } catch {
          errors++
        }
        if (before === 'open' && cache.stats().breaker === 'open') readsWhileOpen++
        // Requests arrive from I/O: let timers run between them, as a server would.
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    const sampler = setInterval(() => {
      const state = cache.stats().breaker
      if (states.at(-1) !== state) states.push(state)
    }, 10)
    const workers = Array.from({ length: WORKERS }, worker)
    await sleep(800)
    const failuresBeforeStop = codes.length
    await redis.stop()
    await sleep(2000)
    const duringOutage = cache.stats()
    await redis.start()
    // Reads keep flowing; the breaker's next probe (cooldown 1 s, reconnect ≤ 500 ms) closes it.
    await until(
      () => cache.stats().breaker === 'closed',
      () => sleep(25),
    )
    await sleep(500)
    running = false
    await Promise.all(workers)
    clearInterval(sampler)
    const after = cache.stats()

    expect(errors).toBe(0)
    expect(failuresBeforeStop).toBe(0)
    expect(duringOutage.breaker).not.toBe('closed')
    expect(states).toContain('open')
    expect(after.breakerOpened).toBeGreaterThanOrEqual(1)
    // The breaker refused its first call only after breakerThreshold calls had failed on Redis …
    const firstRefusal = codes.indexOf('E_L2_UNAVAILABLE')
    expect(firstRefusal).toBeGreaterThanOrEqual(cacheDefaults.breakerThreshold)
    expect(codes.slice(0, firstRefusal).every((c) => c === 'E_L2_TIMEOUT' || c === 'E_L2_FAILED')).toBe(true)
    // … and while it was open no call reached Redis, so no read waited for l2TimeoutMs: they were
    // served by L1 and the loader.
    expect(callsWhileOpen).toBe(0)
    expect(readsWhileOpen).toBeGreaterThan(0)
    expect(after.fallbackLoads).toBeGreaterThan(0)
    expect(after.breaker).toBe('closed')
    // The restarted Redis came back empty: whatever it holds now was filled through it after the restart.
    const refilled = (await store.peek(Array.from({ length: KEYS }, (_, i) => String(i + 1)))).filter(Boolean)
    expect(refilled.length).toBeGreaterThan(0)
    await cache.close()
    await Promise.all([store.close(), bus.close()])
  }, 40_000)

  it('after Redis restarts with its data (saved on stop), serves none of the keys whose delete was dropped stale', async () => {
    const saved = await startOwnRedis({ persist: true })
    const rows = 20
    const maxPendingDeletes = 5
    await pool.query('CREATE TABLE kv2 (k int PRIMARY KEY, v text NOT NULL)')
    await pool.query(`INSERT INTO kv2 SELECT g, 'old' FROM generate_series(1, ${rows}) g`)
    const load2 = async (key: string) => {
      const { rows } = await pool.query<{ v: string }>('SELECT v FROM kv2 WHERE k = $1', [Number(key)])
      return rows[0]?.v
    }
    const keys = Array.from({ length: rows }, (_, i) => String(i + 1))
    const store = redisStore({ connection: saved.url })
    const cache = createCache({ l2: store, maxPendingDeletes })
    try {
      for (const key of keys) expect(await cache.getOrLoad(key, load2)).toBe('old')
      await saved.stop()
      await pool.query(`UPDATE kv2 SET v = 'new'`)
      for (const key of keys) await cache.delete(key)
      expect(cache.stats()).toMatchObject({
        breaker: 'open',
        pendingDeletes: maxPendingDeletes,
        droppedDeletes: rows - maxPendingDeletes,
        l2Trusted: false,
      })
      await saved.start()
      // The restarted Redis loaded its data: every old value is back, dropped deletes or not.
      const raw = redisStore({ connection: saved.url })
      expect((await raw.peek(keys)).map((v) => v?.payload)).toEqual(Array(rows).fill('v"old"'))
      await raw.close()
      await until(
        () => cache.stats().breaker === 'closed',
        () => cache.getOrLoad('probe', async () => 'x'), // after the cooldown, a call starts the probe
      )
      expect(cache.stats()).toMatchObject({ breaker: 'closed', pendingDeletes: 0, l2Trusted: false })
      for (const key of keys) expect(await cache.getOrLoad(key, load2)).toBe('new')
      expect(cache.stats().distrustedKeysCleared).toBeGreaterThanOrEqual(rows)
    } finally {
      await cache.close()
      await store.close()
      await saved[Symbol.asyncDispose]()
    }
  }, 40_000)
})
