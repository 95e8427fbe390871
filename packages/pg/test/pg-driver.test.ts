import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgDriver } from '../src/drivers/pg/index.js'
import { createCluster } from '../src/index.js'
import { type TemporaryDatabase, temporaryDatabase } from '../src/testing/index.js'
import { registerDriverContract } from './driver-contract.js'

registerDriverContract('node-postgres on a PostgreSQL server', { interruptsStatements: true }, async () => {
  const database = await temporaryDatabase({ prefix: 'hf_pg_contract' })
  const other = await temporaryDatabase({ prefix: 'hf_pg_contract' })
  return {
    driver: () => pgDriver({ connectionString: database.url }),
    otherDriver: () => pgDriver({ connectionString: other.url }),
    cleanup: async () => {
      await database.drop()
      await other.drop()
    },
  }
})

describe('node-postgres driver against a real server', () => {
  let database: TemporaryDatabase
  beforeAll(async () => {
    database = await temporaryDatabase({ prefix: 'hf_pg_driver' })
  })
  afterAll(async () => {
    await database.drop()
  })

  it('survives the server killing idle sessions, and the next call gets a fresh one', async () => {
    const db = createCluster({ driver: pgDriver({ connectionString: database.url }), pool: { max: 4 } })
    try {
      await Promise.all([1, 2, 3, 4].map((n) => db.read('SELECT pg_sleep(0.01), $1::int', [n])))
      expect(db.stats().primary!.idle).toBe(4)
      const admin = createCluster({ driver: pgDriver({ connectionString: database.url }), pool: { max: 1 } })
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database.name],
      )
      await admin.end()
      await sleep(100)
      expect(db.stats().primary!.total).toBe(0)
      expect((await db.read('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })

  it('fails with E_CONNECT when the server is not there', async () => {
    const db = createCluster({ driver: pgDriver({ connectionString: 'postgres://postgres@127.0.0.1:1/x' }) })
    await expect(db.read('SELECT 1')).rejects.toMatchObject({ code: 'E_CONNECT' })
    await db.end()
  })
})
