import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import type { Driver, DriverConnection } from '../src/index.js'
import { PgError, Pool } from '../src/index.js'

/** An in-memory driver that records what the pool does to its sessions (pool mechanics only; no server). */
function recordingDriver(options: { failQueries?: () => boolean } = {}) {
  const opened: Array<DriverConnection & { queries: string[]; closed: boolean }> = []
  const driver: Driver = {
    name: 'recording',
    maxConnections: Number.POSITIVE_INFINITY,
    async connect() {
      const conn = {
        queries: [] as string[],
        closed: false,
        broken: false,
        onBroken() {},
        async query(sql: string) {
          conn.queries.push(sql)
          if (options.failQueries?.()) throw new PgError('E_CONNECTION_LOST', 'gone')
          return { rows: [], rowCount: 0 }
        },
        async exec() {},
        async close() {
          conn.closed = true
          conn.broken = true
        },
      }
      opened.push(conn)
      return conn
    },
    async close() {},
  }
  return { driver, opened }
}

describe('Pool', () => {
  const pools: Pool[] = []
  const make = (driver: Driver, options: ConstructorParameters<typeof Pool>[1]) => {
    const pool = new Pool(driver, options)
    pools.push(pool)
    return pool
  }
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()))
  })

  it('keeps min sessions open in the background', async () => {
    const { driver, opened } = recordingDriver()
    const pool = make(driver, { min: 3, max: 5 })
    await sleep(20)
    expect(opened).toHaveLength(3)
    expect(pool.stats).toMatchObject({ total: 3, idle: 3, inUse: 0 })
  })

  it('replaces a session past its lifetime on release', async () => {
    const { driver, opened } = recordingDriver()
    const pool = make(driver, { max: 1, maxLifetimeMs: 30, lifetimeJitter: 0 })
    const first = await pool.acquire()
    await sleep(40)
    pool.release(first)
    expect(opened[0]!.closed).toBe(true)
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    pool.release(second)
  })

  it('spreads lifetimes with jitter', async () => {
    const { driver } = recordingDriver()
    expect(() => make(driver, { lifetimeJitter: 1 })).toThrow('options.lifetimeJitter')
  })

  it('checks a session idle longer than validateAfterIdleMs, and drops it when the check fails', async () => {
    let failing = false
    const { driver, opened } = recordingDriver({ failQueries: () => failing })
    const pool = make(driver, { max: 2, validateAfterIdleMs: 20 })
    const conn = await pool.acquire()
    pool.release(conn)
    const again = await pool.acquire()
    expect(opened[0]!.queries).toEqual([]) // fresh: no check
    pool.release(again)
    await sleep(30)
    const checked = await pool.acquire()
    expect(checked).toBe(conn)
    expect(opened[0]!.queries).toEqual(['SELECT 1'])
    pool.release(checked)
    await sleep(30)
    failing = true
    const replaced = await pool.acquire()
    expect(replaced).not.toBe(conn)
    expect(opened[0]!.closed).toBe(true)
  })

  it('fails at once with E_POOL_TIMEOUT when maxWaiting callers already wait', async () => {
    const { driver } = recordingDriver()
    const pool = make(driver, { max: 1, maxWaiting: 1, acquireTimeoutMs: 1000 })
    const held = await pool.acquire()
    const waiting = pool.acquire()
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'E_POOL_TIMEOUT' })
    pool.release(held)
    pool.release(await waiting)
  })

  it('closes idle sessions above min after idleTimeoutMs', async () => {
    const { driver } = recordingDriver()
    const pool = make(driver, { max: 3, idleTimeoutMs: 50 })
    const conns = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    for (const c of conns) pool.release(c)
    expect(pool.stats.idle).toBe(3)
    await sleep(120)
    expect(pool.stats.total).toBe(0)
  })
})
