import { setTimeout as sleep } from 'node:timers/promises'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BreakerState, createCache } from '../src/index.js'
import { redisBus, redisStore } from '../src/redis/index.js'
import { type OwnRedis, startOwnRedis } from './fixtures/own-redis.js'

const KEYS = 200

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

  it('serves every read, cuts L2 off within a second, and closes the breaker after the restart', async () => {
    const store = redisStore({ connection: redis.url })
    const bus = redisBus({ connection: redis.url })
    const states: { at: number; state: BreakerState }[] = []
    const cache = createCache({ l2: store, bus, l1TtlMs: 500, fallbackConcurrency: 8 })
    await cache.ready()
    const load = async (key: string) => {
      const { rows } = await pool.query<{ v: string }>('SELECT v FROM kv WHERE k = $1', [Number(key)])
      return rows[0]?.v
    }
    const started = performance.now()
    const latencies: number[] = []
    let errors = 0
    let reads = 0
    let stopAt = 0
    let running = true
    const worker = async () => {
      while (running) {
        const key = String(1 + Math.floor(Math.random() * KEYS))
        const t0 = performance.now()
        try {
          const value = await cache.getOrLoad(key, load)
          if (typeof value !== 'string') errors++
        } catch {
          errors++
        }
        latencies.push(performance.now() - t0)
        reads++
        // Requests arrive from I/O: let timers run between them, as a server would.
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    const sampler = setInterval(() => {
      const state = cache.stats().breaker
      if (states.at(-1)?.state !== state) states.push({ at: Math.round(performance.now() - started), state })
    }, 10)
    const workers = Array.from({ length: 16 }, worker)
    await sleep(800)
    stopAt = Math.round(performance.now() - started)
    await redis.stop()
    await sleep(2000)
    const duringOutage = cache.stats()
    await redis.start()
    const restartedAt = performance.now()
    // Reads keep flowing; the breaker's next probe (cooldown 1 s, reconnect ≤ 500 ms) closes it.
    while (cache.stats().breaker !== 'closed' && performance.now() - restartedAt < 8000) await sleep(50)
    const closedAfterMs = Math.round(performance.now() - restartedAt)
    await sleep(500)
    running = false
    await Promise.all(workers)
    clearInterval(sampler)
    const after = cache.stats()
    latencies.sort((a, b) => a - b)
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!
    console.log(
      `outage: ${reads} reads, ${errors} errors, p99 ${p99.toFixed(1)} ms, stopped at ${stopAt} ms, breaker ${JSON.stringify(states)}, fallback loads ${after.fallbackLoads}, closed ${closedAfterMs} ms after the restart`,
    )
    expect(errors).toBe(0)
    expect(duringOutage.breaker).not.toBe('closed')
    const opened = states.find((s) => s.state === 'open')
    expect(opened).toBeDefined()
    expect(opened!.at - stopAt).toBeLessThan(1000)
    expect(after.breaker).toBe('closed')
    // The restarted Redis came back empty: whatever it holds now was filled through it after the restart.
    const refilled = (await store.peek(Array.from({ length: KEYS }, (_, i) => String(i + 1)))).filter(Boolean)
    expect(refilled.length).toBeGreaterThan(0)
    expect(p99).toBeLessThan(300)
    await cache.close()
    await Promise.all([store.close(), bus.close()])
  }, 40_000)
})
