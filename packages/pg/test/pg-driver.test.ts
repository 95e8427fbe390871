import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgDriver } from '../src/drivers/pg/index.js'
import { type Cluster, createCluster, PgError } from '../src/index.js'
import { registerDriverContract, type TemporaryDatabase, temporaryDatabase } from '../src/testing/index.js'

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

/** Polls until `check` holds; gives up well before the 120 s sleep above would end by itself. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`gave up waiting for ${what}`)
}

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

  it('validates its options eagerly, naming the option', () => {
    expect(() => pgDriver({ connectionString: database.url, statementTimeoutMs: 0 })).toThrow(
      'options.statementTimeoutMs',
    )
    expect(() => pgDriver({ connectionString: database.url, statementTimeoutMs: 1.5 })).toThrow(
      'options.statementTimeoutMs',
    )
    expect(() => pgDriver({ connectionString: database.url, cancelTimeoutMs: -1 })).toThrow(
      'options.cancelTimeoutMs',
    )
    expect(() => pgDriver({ connectionString: 5 as never })).toThrow('options.connectionString')
  })

  it('statementTimeoutMs: the server cancels a longer statement with E_STATEMENT_TIMEOUT (57014); the host stays up', async () => {
    const db = createCluster({
      driver: pgDriver({ connectionString: database.url, statementTimeoutMs: 200 }),
      pool: { max: 1 },
    })
    try {
      expect((await db.query<{ t: string }>('SHOW statement_timeout')).rows).toEqual([
        { statement_timeout: '200ms' },
      ])
      for (const run of [() => db.write('SELECT pg_sleep(10)'), () => db.read('SELECT pg_sleep(10)')]) {
        const err = await run().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(PgError)
        expect(err).toMatchObject({ code: 'E_STATEMENT_TIMEOUT', sqlState: '57014' })
        expect((err as PgError).context['statementTimeoutMs']).toBe(200)
        // Not a connection failure: the host is not marked down and the session is reused.
        expect(db.stats().primary).toMatchObject({ healthy: true, total: 1 })
      }
      await expect(
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_sleep(10)')
        }),
      ).rejects.toMatchObject({ code: 'E_STATEMENT_TIMEOUT' })
      expect((await db.read('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    } finally {
      await db.end()
    }
  })

  it('an aborted statement is cancelled on the server before its session is closed', async () => {
    const db = createCluster({ driver: pgDriver({ connectionString: database.url }), pool: { max: 2 } })
    const admin = createCluster({ driver: pgDriver({ connectionString: database.url }), pool: { max: 1 } })
    const marker = `hf_cancel_${randomBytes(4).toString('hex')}`
    const backends = async (cluster: Cluster) =>
      (
        await cluster.query<{ pid: number; state: string }>(
          "SELECT pid, state FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
          [marker],
        )
      ).rows
    try {
      const controller = new AbortController()
      const pending = db.read(`SELECT pg_sleep(120) /* ${marker} */`, [], { signal: controller.signal })
      await until(async () => (await backends(admin)).some((b) => b.state === 'active'), 'the sleep to start')
      const [{ pid }] = (await backends(admin)) as [{ pid: number; state: string }]
      controller.abort(new Error('client went away'))
      await expect(pending).rejects.toMatchObject({ code: 'E_ABORTED' })
      // Cancelled (not left sleeping for two minutes), then the session is closed: the backend is gone.
      await until(
        async () =>
          (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length === 0,
        'the backend to end',
      )
      expect(await backends(admin)).toEqual([])
      expect((await db.read('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
    } finally {
      await db.end()
      await admin.end()
    }
  })

  it('fails with E_CONNECT when the server is not there', async () => {
    const db = createCluster({ driver: pgDriver({ connectionString: 'postgres://postgres@127.0.0.1:1/x' }) })
    await expect(db.read('SELECT 1')).rejects.toMatchObject({ code: 'E_CONNECT' })
    await db.end()
  })
})
