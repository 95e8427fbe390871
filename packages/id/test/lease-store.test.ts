import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgLeaseStore } from '../src/drivers/pg/index.js'
import { IdError, MemoryLeaseStore } from '../src/index.js'
import { registerLeaseStoreContract } from '../src/testing/index.js'

registerLeaseStoreContract('memory', async () => ({ store: new MemoryLeaseStore(), close: async () => {} }))

let database: TemporaryDatabase
let tables = 0
beforeAll(async () => {
  database = await temporaryDatabase({ prefix: 'id_lease_store' })
})
afterAll(async () => {
  await database?.drop()
})

registerLeaseStoreContract('postgres', async () => {
  const cluster = createCluster({ driver: pgDriver({ connectionString: database.url }) })
  const store = pgLeaseStore({ cluster, table: `leases_${++tables}` })
  return { store, close: () => cluster.end() }
})

describe('pgLeaseStore', () => {
  it('creates its schema once even when many processes start at the same moment', async () => {
    const clusters = Array.from({ length: 4 }, () =>
      createCluster({ driver: pgDriver({ connectionString: database.url }) }),
    )
    try {
      const grants = await Promise.all(
        clusters.flatMap((cluster) => {
          const store = pgLeaseStore({ cluster, table: 'racing_schema' })
          return [0, 1, 2].map((i) =>
            store.acquire({ holder: `h${i}`, ttlMs: 1000, quarantineMs: 100, issueUntil: 0 }),
          )
        }),
      )
      expect(new Set(grants.map((grant) => grant!.workerId)).size).toBe(12)
    } finally {
      await Promise.all(clusters.map((cluster) => cluster.end()))
    }
  })

  it('reports an unreachable server as E_LEASE_STORE with the cause', async () => {
    const cluster = createCluster({
      driver: pgDriver({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere' }),
    })
    const store = pgLeaseStore({ cluster })
    try {
      await expect(
        store.acquire({ holder: 'h', ttlMs: 1000, quarantineMs: 100, issueUntil: 0 }),
      ).rejects.toMatchObject({
        code: 'E_LEASE_STORE',
        cause: expect.anything(),
      })
    } finally {
      await cluster.end()
    }
  })

  it.each([
    [{}, 'options.cluster must be a @hundredfold/pg cluster'],
    [
      { cluster: { query() {} }, table: 'Robert"); drop table x' },
      'options.table must match [a-z_][a-z0-9_]{0,50}',
    ],
  ])('rejects %o', (options, message) => {
    let caught: unknown
    try {
      pgLeaseStore(options as never)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(IdError)
    expect(caught).toMatchObject({ code: 'E_INVALID_OPTION', message })
  })
})
