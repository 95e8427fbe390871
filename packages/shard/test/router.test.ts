import { Registry } from '@hundredfold/metrics'
import { PgError } from '@hundredfold/pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardRouter, type Migration, migrate, ShardError, type ShardRouter } from '../src/index.js'
import { rejection, thrown } from './support/caught.js'
import { routerFixture, smallMap, testConnect } from './support/shard-fixture.js'

// 4 databases × 4 tables over two server names (the same PostgreSQL), with the schema made by migrate.

const document = smallMap('hf_shard_router', {
  users: { type: 'hash', key: 'user_id', tables: 4, binding: 'user' },
  posts: { type: 'hash', key: 'author_id', tables: 4, binding: 'user' },
  likes: { type: 'hash', key: 'post_id', tables: 4 },
  usernames: { type: 'lookup', key: 'username', value: 'user_id', target: 'users', tables: 4 },
  countries: { type: 'broadcast' },
})

const migrations: Migration[] = [
  {
    name: '001_users',
    sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text NOT NULL, posts int NOT NULL DEFAULT 0)',
  },
  {
    name: '002_posts',
    sql: 'CREATE TABLE {posts} (author_id bigint NOT NULL, post_id bigint NOT NULL, body text, PRIMARY KEY (author_id, post_id))',
  },
  {
    name: '003_likes',
    sql: 'CREATE TABLE {likes} (post_id bigint, user_id bigint, PRIMARY KEY (post_id, user_id))',
  },
  {
    name: '004_usernames',
    sql: 'CREATE TABLE {usernames} (username text PRIMARY KEY, user_id bigint NOT NULL)',
  },
  { name: '005_countries', sql: 'CREATE TABLE {countries} (code text PRIMARY KEY, name text NOT NULL)' },
]

const USERS = 200

describe('ShardRouter on real databases', () => {
  const registry = new Registry()
  let router: ShardRouter & AsyncDisposable
  beforeAll(async () => {
    router = routerFixture(document, { metrics: registry, name: 'test' })
    await migrate(router, migrations)
    for (let id = 1; id <= USERS; id++) {
      await router
        .shard('users', id)
        .write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [id, `user ${id}`])
    }
  })
  afterAll(async () => {
    await router?.[Symbol.asyncDispose]()
  })

  it('writes each row into the physical table the map names, where the SQL hash agrees', async () => {
    const where = router.map.hashSql('users', 'user_id')
    let total = 0
    for (const target of router.targets('users')) {
      const { rows } = await target.query<{ n: string; misplaced: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE ${where.database} <> $1 OR ${where.table} <> $2) AS misplaced FROM {users}`,
        [target.location.databaseIndex, target.location.tableIndex],
      )
      expect(rows[0]!.misplaced).toBe('0')
      total += Number(rows[0]!.n)
    }
    expect(total).toBe(USERS)
    expect(router.targets('users')).toHaveLength(16)
    expect(new Set(router.databases().map((d) => d.server.name))).toEqual(new Set(['a', 'b']))
  })

  it('reads a row back from its shard, also through prepared statements of several physical tables', async () => {
    for (const id of [1, 2, 3, 50, 199]) {
      const { rows } = await router
        .shard('users', id)
        .read<{ name: string }>('SELECT name FROM {users} WHERE user_id = $1', [id], { name: 'user_by_id' })
      expect(rows).toEqual([{ name: `user ${id}` }])
    }
  })

  it('lands bound tables of one key together, so one statement and one transaction can hold both', async () => {
    for (let id = 1; id <= 20; id++) {
      const user = router.shard('users', id)
      const post = router.shard('posts', id)
      expect([post.database, post.location.tableIndex]).toEqual([user.database, user.location.tableIndex])
      await user.transaction(async (tx) => {
        await tx.query('INSERT INTO {posts} (author_id, post_id, body) VALUES ($1, $2, $3)', [
          id,
          id * 10,
          'hello',
        ])
        await tx.query('UPDATE {users} SET posts = posts + 1 WHERE user_id = $1', [id])
      })
      const { rows } = await user.read<{ posts: number; body: string }>(
        'SELECT u.posts, p.body FROM {users} u JOIN {posts} p ON p.author_id = u.user_id WHERE u.user_id = $1',
        [id],
      )
      expect(rows).toEqual([{ posts: 1, body: 'hello' }])
    }
  })

  it('rolls a transaction back when its function throws, and returns that error as it was', async () => {
    const user = router.shard('users', 7)
    const mine = new Error('changed my mind')
    const error = await user
      .transaction(async (tx) => {
        await tx.query('UPDATE {users} SET name = $2 WHERE user_id = $1', [7, 'renamed'])
        throw mine
      })
      .catch((e: unknown) => e)
    expect(error).toBe(mine)
    const { rows } = await user.read('SELECT name FROM {users} WHERE user_id = $1', [7])
    expect(rows).toEqual([{ name: 'user 7' }])
  })

  it('refuses to reach another shard from a transaction with E_CROSS_SHARD, and rolls it back', async () => {
    const home = router.shard('users', 1)
    const elsewhere = Array.from({ length: USERS }, (_, i) => i + 1).find(
      (id) => router.shard('users', id).database !== home.database,
    )!
    const sameDatabase = Array.from({ length: USERS }, (_, i) => i + 2).find(
      (id) => router.shard('users', id).database === home.database,
    )!
    const error = await rejection(
      home.transaction(async (tx) => {
        await tx.query('UPDATE {users} SET name = $2 WHERE user_id = $1', [1, 'half'])
        await tx
          .shard('users', sameDatabase)
          .query('SELECT 1 FROM {users} WHERE user_id = $1', [sameDatabase])
        tx.shard('users', elsewhere)
      }),
    )
    expect(error).toMatchObject({
      code: 'E_CROSS_SHARD',
      boundTo: home.database,
      requested: router.shard('users', elsewhere).database,
    })
    const { rows } = await home.read('SELECT name FROM {users} WHERE user_id = $1', [1])
    expect(rows).toEqual([{ name: 'user 1' }])
    // a table placed by another key cannot be named in a shard's statement either
    const named = await rejection(home.read('SELECT * FROM {likes}'))
    expect(named).toMatchObject({ code: 'E_CROSS_SHARD', requested: 'likes' })
  })

  it('maps a username to its user through a lookup table sharded by the username', async () => {
    expect(await router.link('usernames', 'alice', 42)).toBe(true)
    expect(await router.link('usernames', 'alice', 42)).toBe(true) // already so
    expect(await router.link('usernames', 'alice', 43)).toBe(false) // taken
    expect(String(await router.lookup('usernames', 'alice'))).toBe('42')
    expect(await router.lookup('usernames', 'bob')).toBeUndefined()
    const alice = await router.shardByLookup('usernames', 'alice')
    expect(alice?.location).toBe(router.shard('users', 42).location)
    const { rows } = await alice!.read('SELECT name FROM {users} WHERE user_id = $1', [42])
    expect(rows).toEqual([{ name: 'user 42' }])
    expect(router.shard('usernames', 'alice').location.physicalTable).toMatch(/^usernames_0[0-3]$/)
    expect(await router.unlink('usernames', 'alice', 43)).toBe(false)
    expect(await router.unlink('usernames', 'alice')).toBe(true)
    expect(await router.lookup('usernames', 'alice')).toBeUndefined()
  })

  it('writes a broadcast table to every database and reads it from any, joinable from a shard', async () => {
    const countries = router.broadcast('countries')
    const results = await countries.write(
      'INSERT INTO {countries} VALUES ($1, $2) ON CONFLICT (code) DO NOTHING',
      ['fr', 'France'],
    )
    expect(results.map((r) => r.rowCount)).toEqual([1, 1, 1, 1])
    for (const d of router.databases()) {
      const { rows } = await d.cluster.query('SELECT name FROM countries WHERE code = $1', ['fr'])
      expect(rows).toEqual([{ name: 'France' }])
    }
    for (let i = 0; i < 4; i++) {
      const { rows } = await countries.read('SELECT name FROM {countries} WHERE code = $1', ['fr'])
      expect(rows).toEqual([{ name: 'France' }])
    }
    const { rows } = await router
      .shard('users', 3)
      .read('SELECT u.name, c.name AS country FROM {users} u, {countries} c WHERE u.user_id = $1', [3])
    expect(rows).toEqual([{ name: 'user 3', country: 'France' }])
  })

  it('says which databases a broadcast write reached when some failed (E_BROADCAST_PARTIAL)', async () => {
    const [, second] = router.databases()
    await second!.cluster.query("INSERT INTO countries VALUES ('de', 'already here')")
    const error = await rejection(
      router.broadcast('countries').write("INSERT INTO {countries} VALUES ('de', 'Germany')"),
    )
    expect(error.code).toBe('E_BROADCAST_PARTIAL')
    expect(error.failed).toEqual([second!.name])
    expect(error.applied).toHaveLength(3)
    expect((error.cause as ShardError).sqlState).toBe('23505')
  })

  it('wraps a server error as E_SHARD_QUERY with the database, table, SQLSTATE and the PgError as cause', async () => {
    const user = router.shard('users', 5)
    const error = await rejection(
      user.write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [5, 'again']),
    )
    expect(error).toMatchObject({
      code: 'E_SHARD_QUERY',
      sqlState: '23505',
      database: user.database,
      physicalTable: user.table,
      table: 'users',
    })
    expect(error.cause).toBeInstanceOf(PgError)
    expect(error.message).toContain(`${user.database}.${user.table}`)
  })

  it('fails with E_ABORTED for an aborted signal', async () => {
    const error = await rejection(
      router.shard('users', 1).read('SELECT 1', [], { signal: AbortSignal.abort() }),
    )
    expect(error.code).toBe('E_ABORTED')
  })

  it('gives one shard as a pg.Pool look-alike for query builders, naming physical tables', async () => {
    const user = router.shard('users', 9)
    const pool = user.asPool()
    const { rows } = await pool.query(`SELECT name FROM ${user.name('users')} WHERE user_id = $1`, [9])
    expect(rows).toEqual([{ name: 'user 9' }])
    expect(user.name('posts')).toBe(router.shard('posts', 9).table)
    await pool.end()
  })

  it('reports per-database statements, errors and latency quantiles', () => {
    const text = registry.metrics()
    expect(text).toMatch(/shard_queries_total\{router="test",database="[a-z0-9_]+"\} \d+/)
    expect(text).toMatch(/shard_query_errors_total\{router="test",database="[a-z0-9_]+"\} [1-9]/)
    expect(text).toMatch(
      /shard_query_duration_seconds\{router="test",database="[a-z0-9_]+",quantile="0.99"\} /,
    )
  })

  it('refuses fan-out with E_SCATTER_REFUSED when made with scatter: refuse', async () => {
    const strict = createShardRouter({ map: document, connect: testConnect, scatter: 'refuse' })
    try {
      expect(thrown(() => strict.targets('users')).code).toBe('E_SCATTER_REFUSED')
      await migrate(strict, migrations) // already applied: nothing to do
      const { rows } = await strict.shard('users', 2).read('SELECT name FROM {users} WHERE user_id = $1', [2])
      expect(rows).toEqual([{ name: 'user 2' }])
    } finally {
      await strict.end()
    }
  })

  it('swaps to a newer map only, keeping the clusters of databases it still has', async () => {
    const before = router.cluster(0)
    expect(thrown(() => router.useMap({ ...document, version: 1 })).code).toBe('E_INVALID_MAP')
    router.useMap({ ...document, version: 2 })
    expect(router.map.version).toBe(2)
    expect(router.cluster(0)).toBe(before)
    const { rows } = await router.shard('users', 4).read('SELECT name FROM {users} WHERE user_id = $1', [4])
    expect(rows).toEqual([{ name: 'user 4' }])
  })

  it('stops with E_CLOSED once ended', async () => {
    const other = createShardRouter({ map: document, connect: testConnect })
    await other.shard('users', 1).read('SELECT 1')
    await other.end()
    const error = await rejection(other.shard('users', 1).read('SELECT 1'))
    expect(error.code).toBe('E_CLOSED')
    expect(error).toBeInstanceOf(ShardError)
  })
})
