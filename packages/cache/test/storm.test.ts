import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const CHILD = fileURLToPath(new URL('./fixtures/storm-child.ts', import.meta.url))
const PROCESSES = 4
const REQUESTS = 1000

interface ChildReport {
  errors: number
  wrong: number
  stats: { loads: number; leaseWaits: number; l2Hits: number }
}

describe('cold-key storm across processes (Redis + PostgreSQL)', () => {
  let db: TemporaryDatabase
  let pool: pg.Pool
  const prefix = `hf-storm:${randomBytes(4).toString('hex')}:`

  beforeAll(async () => {
    db = await temporaryDatabase({ prefix: 'cache_storm' })
    pool = new pg.Pool({ connectionString: db.url, max: 2 })
    pool.on('error', () => {})
    await pool.query('CREATE TABLE loads (id serial PRIMARY KEY, pid int NOT NULL)')
  })
  afterAll(async () => {
    const redis = new Redis(REDIS_URL)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
    await pool.end()
    await db.drop()
  })

  it(`runs the loader once for ${REQUESTS} concurrent requests in ${PROCESSES} processes`, async () => {
    const children = Array.from({ length: PROCESSES }, () =>
      fork(CHILD, [REDIS_URL, db.url, prefix, 'cold-key', String(REQUESTS / PROCESSES)], {
        execArgv: ['--import', 'tsx', '--conditions=@hundredfold/source'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    )
    try {
      await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))))
      const reports = children.map(
        (child) =>
          new Promise<ChildReport>((resolve) => child.once('message', (m) => resolve(m as ChildReport))),
      )
      for (const child of children) child.send('go')
      const all = await Promise.all(reports)
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM loads')
      expect(Number(rows[0]!.n)).toBe(1)
      expect(all.reduce((n, r) => n + r.stats.loads, 0)).toBe(1)
      expect(all.every((r) => r.errors === 0 && r.wrong === 0)).toBe(true)
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill()
    }
  }, 60_000)
})
