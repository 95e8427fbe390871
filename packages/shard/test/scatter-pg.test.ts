import { type Cluster, createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type OrderByColumn,
  type ScatterTarget,
  ShardError,
  scatterAggregate,
  scatterAll,
  scatterOrdered,
  streamOrdered,
} from '../src/index.js'

// Four databases × four tables (t_<db>_<table>) on the test server, and one oracle table holding
// every row, so PostgreSQL itself says what the merged order must be.
const DATABASES = 4
const TABLES = 4
const ROWS = 600

interface Post extends Record<string, unknown> {
  id: string
  created_at: Date
  name: string
}

let databases: TemporaryDatabase[] = []
let clusters: Cluster[] = []
let targets: ScatterTarget[] = []
let oracle: Cluster

function physical(db: number, table: number): string {
  return `t_${db}_${table}`
}

beforeAll(async () => {
  databases = await Promise.all(
    Array.from({ length: DATABASES }, () => temporaryDatabase({ prefix: 'hf_shard_scatter' })),
  )
  clusters = databases.map((d) =>
    createCluster({ driver: pgDriver({ connectionString: d.url }), pool: { max: 4 } }),
  )
  oracle = clusters[0]!
  const ddl = (name: string) =>
    `CREATE TABLE ${name} (id int8 PRIMARY KEY, created_at timestamptz NOT NULL, name text NOT NULL, likes int8 NOT NULL)`
  // 40 distinct instants 250 µs apart (four to a millisecond: a Date would tie them), so rows tie
  // heavily on created_at; ids beyond 2^53; names with case, accents and astral characters.
  const names = ['alice', 'Bob', 'éclair', 'zoë', '\uE000private', '𝒜lpha', 'bob', 'Zed']
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    id: (9_007_199_254_740_993n + BigInt((i * 7919) % 100_003)).toString(),
    created_at: `2024-05-01 12:00:00.${String(((i * 13) % 40) * 250).padStart(6, '0')}+00`,
    name: names[(i * 5) % names.length]!,
    likes: (2n ** 60n + BigInt(i)).toString(),
    db: (i * 3) % DATABASES,
    table: (i * 7) % TABLES,
  }))
  const insert = async (cluster: Cluster, table: string, part: typeof rows) => {
    await cluster.query(
      `INSERT INTO ${table} (id, created_at, name, likes)
       SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::text[], $4::int8[])`,
      [
        part.map((r) => r.id),
        part.map((r) => r.created_at),
        part.map((r) => r.name),
        part.map((r) => r.likes),
      ],
    )
  }
  await oracle.exec(ddl('oracle'))
  await insert(oracle, 'oracle', rows)
  for (let db = 0; db < DATABASES; db++) {
    for (let table = 0; table < TABLES; table++) {
      const name = physical(db, table)
      await clusters[db]!.exec(ddl(name))
      await insert(
        clusters[db]!,
        name,
        rows.filter((r) => r.db === db && r.table === table),
      )
      const cluster = clusters[db]!
      targets.push({
        label: `db${db}/${name}`,
        database: databases[db]!.name,
        table: name,
        query: (sql, params, { signal }) => cluster.query(sql.replaceAll('{t}', name), params, { signal }),
      })
    }
  }
}, 60_000)

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.end()))
  await Promise.all(databases.map((d) => d.drop()))
  targets = []
})

const newestFirst: OrderByColumn[] = [
  { column: 'created_at', direction: 'desc', type: 'timestamp' },
  { column: 'id', direction: 'desc', type: 'integer' },
]

describe('scatter-gather on PostgreSQL: 4 databases × 4 tables', () => {
  it('ORDER BY created_at DESC, id DESC LIMIT 10, paged to the end, equals the union sorted by PostgreSQL', async () => {
    const sql = 'SELECT id, created_at, name FROM {t} WHERE id % 5 <> $1'
    const expected = await oracle.query<{ id: string }>(
      'SELECT id::text FROM oracle WHERE id % 5 <> $1 ORDER BY created_at DESC, id DESC',
      [0],
    )
    const seen: Post[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: { rows: Post[]; nextCursor: string | null } = await scatterOrdered<Post>(targets, {
        sql,
        params: [0],
        orderBy: newestFirst,
        limit: 10,
        cursor,
        signal: AbortSignal.timeout(10_000),
      })
      seen.push(...page.rows)
      cursor = page.nextCursor
      pages++
    } while (cursor !== null)
    expect(seen.map((r) => r.id)).toEqual(expected.rows.map((r) => r.id))
    // Full pages, then the rest; one empty page more only if the last ended at a shard's full page.
    expect(pages - Math.ceil(expected.rows.length / 10)).toBeGreaterThanOrEqual(0)
    expect(pages - Math.ceil(expected.rows.length / 10)).toBeLessThanOrEqual(1)
    expect(seen[0]).toEqual({
      id: expect.any(String),
      created_at: expect.any(Date),
      name: expect.any(String),
    })
  })

  it('text keys merge COLLATE "C" (code points), mixed directions too, in a stream', async () => {
    const orderBy: OrderByColumn[] = [
      { column: 'name', direction: 'asc', type: 'text' },
      { column: 'created_at', direction: 'desc', type: 'timestamp' },
      { column: 'id', direction: 'asc', type: 'integer' },
    ]
    const expected = await oracle.query<{ id: string }>(
      'SELECT id::text FROM oracle ORDER BY name COLLATE "C" ASC, created_at DESC, id ASC',
    )
    const seen: string[] = []
    for await (const row of streamOrdered<Post>(targets, {
      sql: 'SELECT * FROM {t}',
      orderBy,
      pageSize: 7,
    })) {
      seen.push(row.id)
    }
    expect(seen).toEqual(expected.rows.map((r) => r.id))
  })

  it('LIMIT 10 reads at most 10 rows from each of the 16 tables', async () => {
    const served: number[] = []
    await scatterOrdered(targets, {
      sql: 'SELECT id, created_at FROM {t}',
      orderBy: newestFirst,
      limit: 10,
      onShardQuery: (event) => served.push(event.rows),
    })
    expect(served).toHaveLength(16)
    expect(Math.max(...served)).toBeLessThanOrEqual(10)
  })

  it('aggregates merge to exactly what one database computes, per group', async () => {
    const sql = `SELECT name, count(*) AS n, sum(likes) AS likes, min(created_at) AS first, max(id) AS top
                 FROM {t} GROUP BY name`
    const { rows } = await scatterAggregate(targets, {
      sql,
      aggregates: { n: 'count', likes: 'sum', first: 'min', top: 'max' },
      groupBy: ['name'],
    })
    const expected = await oracle.query(sql.replace('{t}', 'oracle'))
    const byName = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a['name']).localeCompare(String(b['name']))
    expect(rows.sort(byName)).toEqual(expected.rows.sort(byName))
    // Sums of int8 beyond 2^53 stay exact.
    expect(BigInt(rows[0]!['likes'] as string)).toBeGreaterThan(2n ** 60n)
  })

  it('a failing statement fails the call with E_SHARD_QUERY carrying the SQLSTATE', async () => {
    const error = await scatterAll(targets, { sql: 'SELECT * FROM {t}_missing' }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ShardError)
    expect(error).toMatchObject({ code: 'E_SHARD_QUERY', sqlState: '42P01' })
  })

  it('an abort cancels the statements running on every shard', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const pending = scatterAll(targets, {
      sql: 'SELECT pg_sleep(20) AS slept FROM {t} LIMIT 1',
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(new Error('deadline')), 200)
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ShardError)
    expect((error as ShardError).code).toBe('E_ABORTED')
    expect(Date.now() - started).toBeLessThan(5_000)
    // The server is not left running them: they are cancelled, not just abandoned.
    let running = Number.POSITIVE_INFINITY
    for (let i = 0; i < 50 && running > 0; i++) {
      const busy = await oracle.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE query LIKE '%pg_sleep(20) AS slept%' AND state = 'active' AND pid <> pg_backend_pid()`,
      )
      running = Number(busy.rows[0]!.n)
      if (running > 0) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(running).toBe(0)
  })
})
