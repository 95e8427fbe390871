import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { integer, pgTable, timestamp } from 'drizzle-orm/pg-core'
import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { pgliteDriver } from '../src/drivers/pglite/index.js'
import { asPool, createCluster, type Driver } from '../src/index.js'
import { registerDriverContract } from '../src/testing/index.js'

registerDriverContract('PGlite in-process', { interruptsStatements: false }, async () => {
  const driver = pgliteDriver()
  const others: Driver[] = []
  return {
    driver: () => driver,
    otherDriver: () => {
      const other = pgliteDriver()
      others.push(other)
      return other
    },
    cleanup: async () => {
      await Promise.all([driver, ...others].map((d) => d.close()))
    },
  }
})

describe('PGlite driver', () => {
  it('keeps data in its directory across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-pglite-'))
    try {
      const first = createCluster({ driver: pgliteDriver({ dataDir: dir }) })
      await first.exec('CREATE TABLE kept (v text)')
      await first.write('INSERT INTO kept VALUES ($1)', ['still here'])
      await first.end()
      const second = createCluster({ driver: pgliteDriver({ dataDir: dir }) })
      expect((await second.read('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }])
      await second.end()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs Drizzle through asPool(): a rolled-back transaction leaves nothing, timestamps stay strings', async () => {
    const cluster = createCluster({ driver: pgliteDriver() })
    try {
      await cluster.exec('CREATE TABLE stamped (id int PRIMARY KEY, at timestamp(6) NOT NULL)')
      const stamped = pgTable('stamped', {
        id: integer('id').primaryKey(),
        at: timestamp('at', { mode: 'string', precision: 6 }).notNull(),
      })
      const db = drizzle(asPool(cluster) as unknown as pg.Pool)
      await expect(
        db.transaction(async (tx) => {
          await tx.insert(stamped).values({ id: 2, at: '2024-01-02 03:04:05.000001' })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      await db.transaction(async (tx) => {
        await tx.insert(stamped).values({ id: 1, at: '2024-01-02 03:04:05.123456' })
      })
      expect(await db.select().from(stamped)).toEqual([{ id: 1, at: '2024-01-02 03:04:05.123456' }])
      expect(await db.select().from(stamped).where(eq(stamped.id, 2))).toEqual([])
    } finally {
      await cluster.end()
    }
  })

  it('refuses a pool larger than its one session', () => {
    expect(() => createCluster({ driver: pgliteDriver(), pool: { max: 2 } })).toThrow(
      'options.max must be at most 1',
    )
  })
})
