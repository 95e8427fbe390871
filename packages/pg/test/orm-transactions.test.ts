import { PrismaPg } from '@prisma/adapter-pg'
import { and, eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { date, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asPgPool } from '../src/drivers/pg/index.js'
import { asPool, type Cluster, ClusterPool, PgError, Session } from '../src/index.js'
import { type ReplicaSet, startReplicaSet } from '../src/testing/index.js'
import { generatePrismaClient, type TestPrismaClient } from './prisma/generate-client.js'
import { replicaReads, replicaSetCluster } from './support/replica-set-cluster.js'

const txRows = pgTable('tx_rows', { orm: text('orm').notNull(), n: integer('n').notNull() }, (t) => [
  primaryKey({ columns: [t.orm, t.n] }),
])
const stamps = pgTable('stamps', {
  id: integer('id').primaryKey(),
  plain: timestamp('plain', { mode: 'string', precision: 6 }).notNull(),
  zoned: timestamp('zoned', { mode: 'string', withTimezone: true, precision: 6 }).notNull(),
  day: date('day', { mode: 'string' }).notNull(),
})

interface KyselyDatabase {
  tx_rows: { orm: string; n: number }
}

/** Odd-numbered transactions throw after their insert: the rows that remain are exactly the even ones. */
const committed = Array.from({ length: 10 }, (_, i) => i * 2)

class Rollback extends Error {}

describe('Drizzle, Kysely and Prisma transactions through asPool() on a primary and two replicas', () => {
  let set: ReplicaSet
  let cluster: Cluster
  let PrismaClient: new (options: { adapter: unknown }) => TestPrismaClient

  beforeAll(async () => {
    PrismaClient = await generatePrismaClient()
    set = await startReplicaSet({ replicas: 2 })
    await set.sql(
      set.primary,
      `CREATE TABLE tx_rows (orm text NOT NULL, n int NOT NULL, PRIMARY KEY (orm, n));
       CREATE TABLE stamps (id int PRIMARY KEY, plain timestamp(6) NOT NULL, zoned timestamptz(6) NOT NULL,
                            day date NOT NULL)`,
    )
    cluster = replicaSetCluster(set, {
      pool: { max: 8, acquireTimeoutMs: 20_000 },
      routing: { probeIntervalMs: 100 },
    })
    await cluster.ready()
  }, 120_000)

  afterAll(async () => {
    await cluster?.end()
    await set?.destroy()
  })

  /** Runs 20 transactions at once, the odd ones throwing after their insert, and checks what stayed. */
  async function twentyTransactions(orm: string, run: (n: number, fail: boolean) => Promise<void>) {
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, n) => run(n, n % 2 === 1)))
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []))
    expect(failures).toHaveLength(10)
    for (const reason of failures) expect(reason).toBeInstanceOf(Rollback)
    const rows = await set.sql<{ n: number }>(
      set.primary,
      'SELECT n FROM tx_rows WHERE orm = $1 ORDER BY n',
      [orm],
    )
    expect(rows.map((r) => r.n)).toEqual(committed)
  }

  it('asPool() is a pool by the checks Drizzle and @prisma/adapter-pg make', () => {
    const pool = asPool(cluster)
    expect(pool).toBeInstanceOf(ClusterPool)
    // drizzle-orm/node-postgres: `instanceof Pool || constructor.name.includes('Pool')`.
    expect(Object.getPrototypeOf(pool).constructor.name).toMatch(/Pool$/)
    // @prisma/adapter-pg's PrismaPg: `instanceof pg.Pool`, else it takes the argument for a config.
    const pgPool = asPgPool(cluster)
    expect(pgPool).toBeInstanceOf(pg.Pool)
    expect(Object.getPrototypeOf(pgPool).constructor.name).toMatch(/Pool$/)
  })

  it('Drizzle: 10 of 20 concurrent transactions commit, 10 roll back; pool.query(BEGIN) is refused', async () => {
    const pool = asPool(cluster)
    const db = drizzle(pool as unknown as pg.Pool)
    await twentyTransactions('drizzle', (n, fail) =>
      db.transaction(async (tx) => {
        await tx.insert(txRows).values({ orm: 'drizzle', n })
        // Same session as the insert: the uncommitted row is visible (a routed read would not see it).
        const seen = await tx
          .select()
          .from(txRows)
          .where(and(eq(txRows.orm, 'drizzle'), eq(txRows.n, n)))
        expect(seen).toEqual([{ orm: 'drizzle', n }])
        if (fail) throw new Rollback(`drizzle ${n}`)
      }),
    )
    await expect(pool.query('BEGIN')).rejects.toMatchObject({ code: 'E_TRANSACTION_CONTROL' })
    const err = await db.execute(sql`begin`).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(err?.cause).toBeInstanceOf(PgError)
    expect(err?.cause).toMatchObject({ code: 'E_TRANSACTION_CONTROL' })
  })

  it('Drizzle: timestamps and dates round-trip as strings, microseconds kept (per-query types honoured)', async () => {
    const session = new Session()
    const db = drizzle(asPool(cluster, { session }) as unknown as pg.Pool)
    const written = {
      id: 1,
      plain: '2024-01-02 03:04:05.123456',
      zoned: '2024-01-02 03:04:05.654321+00',
      day: '2024-02-29',
    }
    await db.insert(stamps).values(written)
    // With the session's token, a replica serves the read once it has replayed the insert.
    const [row] = await db.select().from(stamps).where(eq(stamps.id, 1))
    // node-postgres's own parsing would give Date objects, which Drizzle would cut to milliseconds.
    expect(row).toMatchObject({ id: 1, plain: written.plain, day: written.day })
    const [server] = await set.sql<{ zoned: string }>(set.primary, 'SELECT zoned::text AS zoned FROM stamps')
    expect(row!.zoned).toBe(server!.zoned) // the server's own text, in its TimeZone
    expect(row!.zoned).toMatch(/:05\.654321[+-]\d\d/)
    const fromReplicas = replicaReads(cluster)
    expect(fromReplicas).toBeGreaterThan(0)
  })

  it('Kysely: 10 of 20 concurrent transactions commit, 10 roll back; pool.query(BEGIN) is refused', async () => {
    const pool = asPool(cluster)
    const db = new Kysely<KyselyDatabase>({
      dialect: new PostgresDialect({ pool: pool as unknown as PostgresPool }),
    })
    await twentyTransactions('kysely', (n, fail) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('tx_rows').values({ orm: 'kysely', n }).execute()
        const seen = await trx
          .selectFrom('tx_rows')
          .selectAll()
          .where('orm', '=', 'kysely')
          .where('n', '=', n)
          .execute()
        expect(seen).toEqual([{ orm: 'kysely', n }])
        if (fail) throw new Rollback(`kysely ${n}`)
      }),
    )
    await expect(pool.query('BEGIN')).rejects.toMatchObject({ code: 'E_TRANSACTION_CONTROL' })
    await db.destroy()
  })

  it('Prisma (@prisma/adapter-pg): 10 of 20 concurrent transactions commit, 10 roll back; BEGIN is refused', async () => {
    const pool = asPgPool(cluster)
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
    try {
      await twentyTransactions('prisma', (n, fail) =>
        prisma.$transaction(
          async (tx) => {
            await tx.txRow.create({ data: { orm: 'prisma', n } })
            const seen = await tx.txRow.findUnique({ where: { orm_n: { orm: 'prisma', n } } })
            expect(seen).toEqual({ orm: 'prisma', n })
            if (fail) throw new Rollback(`prisma ${n}`)
          },
          { maxWait: 20_000, timeout: 20_000 },
        ),
      )
      await expect(pool.query('BEGIN')).rejects.toMatchObject({ code: 'E_TRANSACTION_CONTROL' })
      // Server errors reach Prisma as node-postgres errors, so it maps them: a duplicate key is P2002.
      await expect(prisma.txRow.create({ data: { orm: 'prisma', n: 0 } })).rejects.toMatchObject({
        code: 'P2002',
      })
    } finally {
      await prisma.$disconnect()
    }
  })
})
