import { Kysely, PostgresDialect, type PostgresPool, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asPool, type Cluster, isReadOnly, Session } from '../src/index.js'
import { type ReplicaSet, startReplicaSet } from '../src/testing/index.js'
import { replicaReads, replicaSetCluster } from './support/replica-set-cluster.js'

/** Kysely types its pool with a cursor overload for `.stream()`, which the facade does not offer. */
const kyselyPool = (cluster: Cluster, session?: Session) =>
  asPool(cluster, session ? { session } : {}) as unknown as PostgresPool

interface Database {
  notes: { id: number; body: string }
}

describe('Kysely through asPool() on a primary and two replicas', () => {
  let set: ReplicaSet
  let cluster: Cluster
  let db: Kysely<Database>

  beforeAll(async () => {
    set = await startReplicaSet({ replicas: 2 })
    await set.sql(set.primary, 'CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)')
    cluster = replicaSetCluster(set, {
      routing: { probeIntervalMs: 100 },
    })
    await cluster.ready()
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: kyselyPool(cluster) }) })
  }, 120_000)

  afterAll(async () => {
    await db?.destroy()
    await cluster?.end()
    await set?.destroy()
  })

  it('sends inserts to the primary, selects to replicas, and a transaction to one primary session', async () => {
    const inserted = await db.insertInto('notes').values({ id: 1, body: 'one' }).executeTakeFirst()
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n)
    const where = await sql<{ recovery: boolean }>`SELECT pg_is_in_recovery() AS recovery`.execute(db)
    expect(where.rows[0]!.recovery).toBe(true)

    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 2, body: 'two' }).execute()
      const inside = await sql<{
        recovery: boolean
        n: string
      }>`SELECT pg_is_in_recovery() AS recovery, (SELECT count(*) FROM notes) AS n`.execute(trx)
      // Inside the transaction the select runs on the primary session and sees the uncommitted row.
      expect(inside.rows[0]).toEqual({ recovery: false, n: '2' })
    })
    const fromReplicas = replicaReads(cluster)
    expect(fromReplicas).toBeGreaterThan(0)
  })

  it('rolls back a failed transaction and gives read-your-writes through a session', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 3, body: 'three' }).execute()
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    const session = new Session()
    const scoped = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: kyselyPool(cluster, session) }),
    })
    await scoped.insertInto('notes').values({ id: 4, body: 'four' }).execute()
    const rows = await scoped.selectFrom('notes').select(['id', 'body']).orderBy('id').execute()
    expect(rows).toEqual([
      { id: 1, body: 'one' },
      { id: 2, body: 'two' },
      { id: 4, body: 'four' },
    ])
    await scoped.destroy()
  })

  it('classifies statements conservatively', () => {
    expect(isReadOnly('select 1')).toBe(true)
    expect(isReadOnly('  /* c */ (SELECT 1)')).toBe(true)
    expect(isReadOnly('WITH x AS (SELECT 1) SELECT * FROM x')).toBe(true)
    expect(isReadOnly('WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x')).toBe(false)
    expect(isReadOnly('SELECT * FROM t FOR UPDATE')).toBe(false)
    expect(isReadOnly("SELECT nextval('s')")).toBe(false)
    expect(isReadOnly('INSERT INTO t VALUES (1)')).toBe(false)
    expect(isReadOnly('SELECT * INTO t2 FROM t')).toBe(false)
  })
})
