import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Bus, type Cache, createCache, type L2Store } from '@hundredfold/cache'
import { redisBus, redisStore } from '@hundredfold/cache/redis'
import { Redis } from 'ioredis'
import pg from 'pg'

/** The race's shape: 48 workers on 16 hot keys, 10 % writes (issue #12's stale-set check). */
export const RACE = Object.freeze({ keys: 16, workers: 48, writeRate: 0.1, doubleDeleteDelayMs: 3 })

/** One strategy's outcome after the run quiesced. */
export interface RaceResult {
  /** Keys whose cached value differs from the database. */
  stale: number
  ops: number
  seconds: number
  /** Fills refused because a delete voided their lease (leases only). */
  staleSetsRefused?: number
}

export interface RaceOptions {
  /** An empty database of its own: the race creates and fills table `kv`. */
  databaseUrl: string
  redisUrl: string
  /** Operations per strategy. */
  ops: number
  signal: AbortSignal
  log: (line: string) => void
}

interface Strategy {
  read(key: number): Promise<number>
  write(key: number): Promise<void>
  /** What a reader would be served from the cache now without loading, or undefined. */
  cached(key: number): Promise<number | undefined>
  close(): Promise<void>
}

/**
 * Concurrent writers and readers on a few hot keys over Redis and PostgreSQL, three ways: plain
 * cache-aside (read-through `SET`, delete after the write), delayed double delete, and our leases
 * over two nodes. After each run quiesces, every cached value is compared with the database.
 *
 * @example
 * const results = await runStaleRace({ databaseUrl, redisUrl, ops: 100_000, signal, log })
 */
export async function runStaleRace(options: RaceOptions): Promise<Record<string, RaceResult>> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 24 })
  pool.on('error', () => {})
  const redis = new Redis(options.redisUrl)
  const prefix = `hf-bench-race:${randomBytes(4).toString('hex')}:`
  try {
    await pool.query('CREATE TABLE kv (k int PRIMARY KEY, v bigint NOT NULL)')
    await pool.query(`INSERT INTO kv SELECT g, 0 FROM generate_series(1, ${RACE.keys}) g`)
    const db = {
      /** The database read a cache loads from, then a pause such as a GC or a slow network would make. */
      async load(key: number): Promise<number> {
        const { rows } = await pool.query<{ v: string }>('SELECT v FROM kv WHERE k = $1', [key])
        await sleep(Math.random() * 6)
        return Number(rows[0]!.v)
      },
      async update(key: number): Promise<void> {
        await pool.query('UPDATE kv SET v = v + 1 WHERE k = $1', [key])
      },
    }
    const results: Record<string, RaceResult> = {}
    const strategies: [string, () => Promise<Strategy>][] = [
      ['cache_aside', async () => redisAside(redis, `${prefix}plain:`, db, 0)],
      ['double_delete', async () => redisAside(redis, `${prefix}double:`, db, RACE.doubleDeleteDelayMs)],
      ['leases', () => LeaseStrategy.open(options.redisUrl, `${prefix}lease:`, db)],
    ]
    for (const [name, open] of strategies) {
      options.signal.throwIfAborted()
      options.log(`race: ${name}, ${options.ops} operations`)
      const strategy = await open()
      try {
        results[name] = await race(pool, strategy, options.ops, options.signal)
      } finally {
        await strategy.close()
      }
      if (strategy instanceof LeaseStrategy) results[name]!.staleSetsRefused = strategy.refused
    }
    return results
  } finally {
    const names = await redis.keys(`${prefix}*`)
    if (names.length > 0) await redis.del(...names)
    await redis.quit()
    await pool.end()
  }
}

async function race(
  pool: pg.Pool,
  strategy: Strategy,
  ops: number,
  signal: AbortSignal,
): Promise<RaceResult> {
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < ops && !signal.aborted) {
      next++
      const key = 1 + Math.floor(Math.random() * RACE.keys)
      if (Math.random() < RACE.writeRate) await strategy.write(key)
      else await strategy.read(key)
    }
  }
  await Promise.all(Array.from({ length: RACE.workers }, worker))
  const seconds = (performance.now() - started) / 1000
  await sleep(300) // delayed deletes, bus messages and last fills settle
  const { rows } = await pool.query<{ k: number; v: string }>('SELECT k, v FROM kv')
  let stale = 0
  for (const row of rows) {
    const cached = await strategy.cached(row.k)
    if (cached !== undefined && cached !== Number(row.v)) stale++
  }
  return { stale, ops: next, seconds: Math.round(seconds * 10) / 10 }
}

interface Db {
  load(key: number): Promise<number>
  update(key: number): Promise<void>
}

/** Plain cache-aside on Redis; with `delayMs`, the delete is repeated that much later. */
function redisAside(redis: Redis, prefix: string, db: Db, delayMs: number): Strategy {
  const k = (key: number) => `${prefix}${key}`
  return {
    async read(key) {
      const hit = await redis.get(k(key))
      if (hit !== null) return Number(hit)
      const value = await db.load(key)
      await redis.set(k(key), String(value), 'EX', 60)
      return value
    },
    async write(key) {
      await db.update(key)
      await redis.del(k(key))
      if (delayMs > 0) setTimeout(() => void redis.del(k(key)).catch(() => {}), delayMs)
    },
    async cached(key) {
      const hit = await redis.get(k(key))
      return hit === null ? undefined : Number(hit)
    },
    close: async () => {},
  }
}

/** `@hundredfold/cache` on two nodes sharing one Redis L2 and bus; every node must agree with the database. */
class LeaseStrategy implements Strategy {
  readonly #store: L2Store
  readonly #buses: Bus[]
  readonly #nodes: Cache[]
  readonly #db: Db
  /** Stale fills refused on both nodes, once closed. */
  refused = 0

  static async open(redisUrl: string, prefix: string, db: Db): Promise<LeaseStrategy> {
    const strategy = new LeaseStrategy(redisUrl, prefix, db)
    await Promise.all(strategy.#nodes.map((node) => node.ready()))
    return strategy
  }

  private constructor(redisUrl: string, prefix: string, db: Db) {
    this.#db = db
    this.#store = redisStore({ connection: redisUrl, prefix })
    this.#buses = [0, 1].map(() => redisBus({ connection: redisUrl, channel: `${prefix}bus` }))
    this.#nodes = this.#buses.map((bus, i) =>
      createCache({ l2: this.#store, bus, nodeId: `n${i}`, leaseWaitMs: 2000 }),
    )
  }

  #node(): Cache {
    return this.#nodes[Math.floor(Math.random() * this.#nodes.length)]!
  }

  async read(key: number): Promise<number> {
    return (await this.#node().getOrLoad(String(key), () => this.#db.load(key)))!
  }

  async write(key: number): Promise<void> {
    await this.#db.update(key)
    await this.#node().delete(String(key))
  }

  async cached(key: number): Promise<number | undefined> {
    const peekOnly = async (): Promise<number> => {
      throw new Error('not cached')
    }
    let seen: number | undefined
    for (const node of this.#nodes) {
      const value = await node.getOrLoad<number>(String(key), peekOnly).catch(() => undefined)
      if (value !== undefined && seen !== undefined && value !== seen) return -1
      seen ??= value
    }
    return seen
  }

  async close(): Promise<void> {
    this.refused = this.#nodes.reduce((n, node) => n + node.stats().staleSetsRefused, 0)
    await Promise.all(this.#nodes.map((node) => node.close()))
    await Promise.all([...this.#buses.map((bus) => bus.close()), this.#store.close()])
  }
}
