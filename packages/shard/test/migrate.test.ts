import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createShardRouter,
  formatMigrationReport,
  type Migration,
  migrate,
  type ShardRouter,
} from '../src/index.js'
import { rejection } from './support/caught.js'
import { dropDatabases, routerFixture, smallMap, testConnect } from './support/shard-fixture.js'

const document = smallMap('hf_shard_migrate', {
  users: { type: 'hash', key: 'user_id', tables: 4, binding: 'user' },
  posts: { type: 'hash', key: 'author_id', tables: 4, binding: 'user' },
  likes: { type: 'hash', key: 'post_id', tables: 4 },
  countries: { type: 'broadcast' },
})

const migrations: Migration[] = [
  { name: '001_users', sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY)' },
  {
    name: '002_posts',
    // Bound tables meet at one table index, so a foreign key between them holds.
    sql: `CREATE TABLE {posts} (author_id bigint REFERENCES {users}, post_id bigint, PRIMARY KEY (author_id, post_id));
          CREATE INDEX ON {posts} (post_id) -- two statements in one migration`,
  },
  { name: '003_bio', sql: 'ALTER TABLE {users} ADD COLUMN bio text' },
  { name: '004_countries', sql: 'CREATE TABLE {countries} (code text PRIMARY KEY)' },
  { name: '005_extension', sql: 'CREATE EXTENSION IF NOT EXISTS pgcrypto' },
]

/** Records per migration in one database. */
async function records(router: ShardRouter, database: number): Promise<Record<string, number>> {
  const { rows } = await router
    .cluster(database)
    .query<{ name: string; n: string }>('SELECT name, count(*) AS n FROM hf_shard_migrations GROUP BY name')
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]))
}

describe('migrate', () => {
  let router: ShardRouter & AsyncDisposable
  beforeAll(() => {
    router = routerFixture(document)
  })
  afterAll(async () => {
    await router?.[Symbol.asyncDispose]()
  })

  it('rejects bad migrations before touching any server', async () => {
    const bad: Array<[Migration[], string]> = [
      [[{ name: 'x', sql: 'SELECT * FROM {nope}' }], 'E_UNKNOWN_TABLE'],
      [
        [
          { name: 'x', sql: 'SELECT 1' },
          { name: 'x', sql: 'SELECT 2' },
        ],
        'E_INVALID_OPTION',
      ],
      [[{ name: "x'; DROP", sql: 'SELECT 1' }], 'E_INVALID_OPTION'],
      [[{ name: 'x', sql: 'CREATE INDEX ON {table} (a)' }], 'E_INVALID_OPTION'],
      [[{ name: 'x', sql: 'SELECT * FROM {users}, {likes}' }], 'E_INVALID_OPTION'],
      [[{ name: 'x', sql: '  ' }], 'E_INVALID_OPTION'],
    ]
    for (const [list, code] of bad) {
      const error = await rejection(migrate(document, list, { connect: testConnect }))
      expect(error.code).toBe(code)
    }
    await expect(router.cluster(0).query('SELECT 1')).rejects.toThrow(/does not exist/) // nothing was created
  })

  it('plans in a dry run: the databases to create and every step, changing nothing', async () => {
    const report = await migrate(router, migrations, { dryRun: true })
    expect(report.dryRun).toBe(true)
    expect(report.createdDatabases.map((d) => `${d.database}@${d.server}`).sort()).toEqual(
      router.map.databases.map((d) => `${d.name}@${d.server.name}`),
    )
    expect(report.steps).toHaveLength(4 * 5)
    expect(report.steps[1]).toMatchObject({
      database: router.map.databases[0]!.name,
      server: 'a',
      migration: '002_posts',
      physicalTables: [
        'posts_00',
        'users_00',
        'posts_01',
        'users_01',
        'posts_02',
        'users_02',
        'posts_03',
        'users_03',
      ],
    })
    const text = formatMigrationReport(report)
    expect(text).toContain(`would create database ${router.map.databases[3]!.name} on server b`)
    expect(text).toContain('001_users → users_00 … users_03 (4 tables)')
    expect(text).toContain('005_extension → the database')
    await expect(router.cluster(0).query('SELECT 1')).rejects.toThrow(/does not exist/)
  })

  it('creates the databases and applies every migration to every physical table, recording each', async () => {
    const report = await migrate(router, migrations)
    expect(report.createdDatabases).toHaveLength(4)
    expect(report.steps).toHaveLength(20)
    for (let d = 0; d < 4; d++) {
      expect(await records(router, d)).toEqual({
        '001_users': 4,
        '002_posts': 8,
        '003_bio': 4,
        '004_countries': 1,
        '005_extension': 1,
      })
    }
    const { rows } = await router
      .cluster(3)
      .query<{ n: string }>(
        "SELECT count(*) AS n FROM information_schema.columns WHERE column_name = 'bio' AND table_name LIKE 'users_%'",
      )
    expect(rows[0]!.n).toBe('4')
    const again = await migrate(router, migrations)
    expect(again.steps).toEqual([])
    expect(formatMigrationReport(again)).toContain('up to date')
  })

  it('resumes after a failure: a rerun applies only what is missing, and the failed database kept nothing', async () => {
    const next: Migration[] = [
      ...migrations,
      { name: '006_email', sql: 'ALTER TABLE {users} ADD COLUMN email text' },
    ]
    const broken = router.cluster(2)
    // Injected fault: database 2 has the column already on one table, so the migration fails there.
    await broken.query('ALTER TABLE users_01 ADD COLUMN email text')
    const before = await router
      .cluster(0)
      .query<{ at: Date }>('SELECT max(applied_at) AS at FROM hf_shard_migrations')
    const failure = await rejection(migrate(router, next, { concurrency: 1 }))
    expect(failure).toMatchObject({
      code: 'E_MIGRATION_FAILED',
      database: router.map.databases[2]!.name,
      migration: '006_email',
      sqlState: '42701',
    })
    expect((await records(router, 1))['006_email']).toBe(4)
    expect((await records(router, 2))['006_email']).toBeUndefined()
    expect((await records(router, 3))['006_email']).toBeUndefined() // not started after the failure
    const columns = await broken.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.columns WHERE column_name = 'email' ORDER BY 1",
    )
    expect(columns.rows.map((r) => r.t)).toEqual(['users_01']) // one transaction: users_00 was not altered
    await broken.query('ALTER TABLE users_01 DROP COLUMN email')

    const resumed = await migrate(router, next, { concurrency: 1 })
    expect(resumed.steps.map((s) => `${s.database}:${s.migration}`)).toEqual([
      `${router.map.databases[2]!.name}:006_email`,
      `${router.map.databases[3]!.name}:006_email`,
    ])
    for (let d = 0; d < 4; d++) expect((await records(router, d))['006_email']).toBe(4)
    const { rows } = await router
      .cluster(0)
      .query<{ at: Date }>("SELECT max(applied_at) AS at FROM hf_shard_migrations WHERE name <> '006_email'")
    expect(rows[0]!.at).toEqual(before.rows[0]!.at) // what was applied stays as it was
  })

  it('lets two runs race: each step is applied once, and both succeed', async () => {
    const other = createShardRouter({ map: document, connect: testConnect })
    try {
      const next: Migration[] = [
        ...migrations,
        { name: '006_email', sql: 'ALTER TABLE {users} ADD COLUMN email text' },
        {
          name: '007_likes',
          sql: 'CREATE TABLE {likes} (post_id bigint, user_id bigint, PRIMARY KEY (post_id, user_id))',
        },
      ]
      const [a, b] = await Promise.all([migrate(router, next), migrate(other, next)])
      expect(a.steps.length + b.steps.length).toBe(4)
      for (let d = 0; d < 4; d++) expect((await records(router, d))['007_likes']).toBe(4)
    } finally {
      await other.end()
    }
  })

  it('works from a map alone, opening and ending its own clusters', async () => {
    const report = await migrate(document, migrations, { connect: testConnect })
    expect(report.steps).toEqual([])
  })
})

afterAll(async () => {
  await dropDatabases(document)
})
