import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { redisBus, redisStore } from '../src/drivers/redis/index.js'
import { type Cache, createCache } from '../src/index.js'
import { REDIS_URL, sharedBackends } from './fixtures/shared-backends.js'

/**
 * Concurrent writers and readers on a few hot keys over real Redis and PostgreSQL, through leases.
 * After the run quiesces, a cached value that differs from the database is stale: there must be none.
 * Plain cache-aside and delayed double delete, which do leave stale keys, are measured beside it by
 * `npm run bench -- cache` (`bench/results/cache.json`). `HF_RACE_OPS` sets the operations (10⁵ by default).
 */
const OPS = Number(process.env['HF_RACE_OPS'] ?? 100_000)
const KEYS = 16
const WORKERS = 48
const WRITE_SHARE = 0.1

interface Strategy {
  read(key: number): Promise<number>
  write(key: number): Promise<void>
  /** What a reader would be served from the cache now without loading, or undefined. */
  cached(key: number): Promise<number | undefined>
}

describe('stale sets under concurrent writes (Redis + PostgreSQL)', () => {
  const backends = sharedBackends('race', {
    poolMax: 24,
    schema: `CREATE TABLE kv (k int PRIMARY KEY, v bigint NOT NULL);
             INSERT INTO kv SELECT g, 0 FROM generate_series(1, ${KEYS}) g`,
  })

  /** The database read a cache loads from, then a pause such as a GC or a slow network would make. */
  const load = async (key: number): Promise<number> => {
    const { rows } = await backends.pool.query<{ v: string }>('SELECT v FROM kv WHERE k = $1', [key])
    await sleep(Math.random() * 6)
    return Number(rows[0]!.v)
  }
  const update = async (key: number) => {
    await backends.pool.query('UPDATE kv SET v = v + 1 WHERE k = $1', [key])
  }

  async function run(strategy: Strategy): Promise<number> {
    let next = 0
    const worker = async () => {
      while (next < OPS) {
        next++
        const key = 1 + Math.floor(Math.random() * KEYS)
        if (Math.random() < WRITE_SHARE) await strategy.write(key)
        else await strategy.read(key)
      }
    }
    await Promise.all(Array.from({ length: WORKERS }, worker))
    await sleep(300) // delayed deletes, bus messages and last fills settle
    const { rows } = await backends.pool.query<{ k: number; v: string }>('SELECT k, v FROM kv')
    let stale = 0
    for (const row of rows) {
      const cached = await strategy.cached(row.k)
      if (cached !== undefined && cached !== Number(row.v)) stale++
    }
    return stale
  }

  it('leases leave zero stale values, in L2 and in both nodes’ L1', async () => {
    const store = redisStore({ connection: REDIS_URL, prefix: `${backends.prefix}lease:` })
    const buses = [
      redisBus({ connection: REDIS_URL, channel: `${backends.prefix}bus` }),
      redisBus({ connection: REDIS_URL, channel: `${backends.prefix}bus` }),
    ]
    const nodes: Cache[] = buses.map((bus, i) =>
      createCache({ l2: store, bus, nodeId: `n${i}`, leaseWaitMs: 2000 }),
    )
    await Promise.all(nodes.map((node) => node.ready()))
    const node = () => nodes[Math.floor(Math.random() * nodes.length)]!
    const peekOnly = async () => {
      throw new Error('not cached')
    }
    const stale = await run({
      async read(key) {
        return (await node().getOrLoad(String(key), () => load(key)))!
      },
      async write(key) {
        await update(key)
        await node().delete(String(key))
      },
      async cached(key) {
        // Every node must agree with the database, whether it answers from L1 or L2.
        let seen: number | undefined
        for (const n of nodes) {
          const value = await n.getOrLoad<number>(String(key), peekOnly).catch(() => undefined)
          if (value !== undefined && seen !== undefined && value !== seen) return -1
          seen ??= value
        }
        return seen
      },
    })
    const refused = nodes.reduce((n, node) => n + node.stats().staleSetsRefused, 0)
    await Promise.all(nodes.map((n) => n.close()))
    await Promise.all([...buses.map((b) => b.close()), store.close()])
    expect(stale).toBe(0)
    expect(refused).toBeGreaterThan(0)
  }, 180_000) // 10⁵ operations take 15 s alone and several times that beside the rest of the suite
})
