import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createShardRouter,
  migrate,
  parseShardMap,
  planDoubling,
  Resharding,
  type ShardMap,
  type ShardMapDocument,
  type ShardRouter,
} from '../src/index.js'
import { testConnect, uniqueName } from './support/shard-fixture.js'

/**
 * Online doubling on real PostgreSQL with logical replication: the sources on one server, the new half
 * on another (both `wal_level = logical`, own ports), writers running through the router the whole time.
 */
describe('resharding: doubling 4 → 8 databases online', () => {
  let sources: ReplicaSet
  let targets: ReplicaSet
  const settings = {
    max_replication_slots: '40',
    max_wal_senders: '40',
    max_logical_replication_workers: '40',
    max_worker_processes: '60',
    // The launcher starts subscription workers at most this often (5 s by default).
    wal_retrieve_retry_interval: '200ms',
  }

  beforeAll(async () => {
    ;[sources, targets] = await Promise.all([
      startReplicaSet({ replicas: 0, walLevel: 'logical', settings }),
      startReplicaSet({ replicas: 0, walLevel: 'logical', settings }),
    ])
  }, 120_000)
  afterAll(async () => {
    await Promise.all([sources?.destroy(), targets?.destroy()])
  })

  const serverOf = (set: ReplicaSet) => set.primary.url.replace(/\/postgres$/, '')
  const migrations = [
    {
      name: '001_users',
      sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text NOT NULL, posts int NOT NULL DEFAULT 0)',
    },
    {
      name: '002_posts',
      sql: 'CREATE TABLE {posts} (author_id bigint NOT NULL REFERENCES {users}, post_id bigint NOT NULL, body text NOT NULL, PRIMARY KEY (author_id, post_id))',
    },
    {
      name: '003_usernames',
      sql: 'CREATE TABLE {usernames} (username text PRIMARY KEY, user_id bigint NOT NULL)',
    },
    { name: '004_countries', sql: 'CREATE TABLE {countries} (code text PRIMARY KEY, name text NOT NULL)' },
  ]
  const AUTHORS = 120

  async function seeded(prefix: string): Promise<{ map: ShardMap; router: ShardRouter }> {
    const document: ShardMapDocument = {
      version: 1,
      name: uniqueName(prefix),
      servers: { a: { primary: serverOf(sources) } },
      databases: { count: 4 },
      tables: {
        users: { type: 'hash', key: 'user_id', tables: 4, binding: 'user' },
        posts: { type: 'hash', key: 'author_id', tables: 4, binding: 'user' },
        usernames: { type: 'lookup', key: 'username', value: 'user_id', target: 'users', tables: 4 },
        countries: { type: 'broadcast' },
      },
    }
    const map = parseShardMap(document)
    const router = createShardRouter({ map, connect: testConnect })
    await migrate(router, migrations)
    for (let id = 1; id <= AUTHORS; id++) {
      await router
        .shard('users', id)
        .write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [id, `user ${id}`])
      await router.link('usernames', `user${id}`, id)
    }
    await router.broadcast('countries').write("INSERT INTO {countries} VALUES ('fr', 'France')")
    return { map, router }
  }

  /** Writers through the router until stopped: each acknowledged post is remembered. */
  function writeLoad(router: ShardRouter, concurrency = 8) {
    const acked: { author: number; post: number }[] = []
    const failures: unknown[] = []
    let next = 1
    let running = true
    const worker = async () => {
      while (running) {
        const author = 1 + (next % AUTHORS)
        const post = next++
        try {
          await router.shard('posts', author).transaction(async (tx) => {
            await tx.query('INSERT INTO {posts} (author_id, post_id, body) VALUES ($1, $2, $3)', [
              author,
              post,
              `post ${post}`,
            ])
            await tx.query('UPDATE {users} SET posts = posts + 1 WHERE user_id = $1', [author])
          })
          acked.push({ author, post })
        } catch (err) {
          failures.push(err)
        }
      }
    }
    const workers = Array.from({ length: concurrency }, worker)
    return {
      acked,
      failures,
      async stop() {
        running = false
        await Promise.all(workers)
      },
    }
  }

  /** Every post and user of every physical table of a map's databases, with where each was found. */
  async function everyRow(router: ShardRouter, map: ShardMap) {
    const posts = new Map<string, string[]>()
    const users = new Map<string, { posts: number; at: string[] }>()
    for (const location of map.locations('posts')) {
      const { rows } = await router
        .cluster(location.databaseIndex)
        .query<{ post_id: string }>(`SELECT post_id::text FROM ${location.physicalTable}`)
      for (const r of rows) posts.set(r.post_id, [...(posts.get(r.post_id) ?? []), location.label])
    }
    for (const location of map.locations('users')) {
      const { rows } = await router
        .cluster(location.databaseIndex)
        .query<{ user_id: string; posts: number }>(
          `SELECT user_id::text, posts FROM ${location.physicalTable}`,
        )
      for (const r of rows) {
        const seen = users.get(r.user_id)
        users.set(r.user_id, { posts: r.posts, at: [...(seen?.at ?? []), location.label] })
      }
    }
    return { posts, users }
  }

  function expectExactlyOnce(
    rows: Awaited<ReturnType<typeof everyRow>>,
    acked: readonly { author: number; post: number }[],
    map: ShardMap,
  ) {
    const lost = acked.filter((a) => !rows.posts.has(String(a.post)))
    const duplicated = [...rows.posts].filter(([, at]) => at.length > 1)
    expect(lost).toEqual([])
    expect(duplicated).toEqual([])
    for (const { author, post } of acked) {
      expect(rows.posts.get(String(post))).toEqual([map.resolve('posts', author).label])
    }
    // The counter moved with every acknowledged post, in one place per user.
    const perAuthor = new Map<number, number>()
    for (const { author } of acked) perAuthor.set(author, (perAuthor.get(author) ?? 0) + 1)
    for (let id = 1; id <= AUTHORS; id++) {
      expect(rows.users.get(String(id))).toEqual({
        posts: perAuthor.get(id) ?? 0,
        at: [map.resolve('users', id).label],
      })
    }
  }

  it('copies, verifies, cuts over with writes buffered, and after complete every acknowledged write is there once', async () => {
    const { map, router } = await seeded('rsd')
    const plan = planDoubling(map, { servers: { b: { primary: serverOf(targets) } } })
    const to = parseShardMap(plan.to)
    expect(to.databases.map((d) => d.server.name)).toEqual(['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'])
    const load = writeLoad(router)
    try {
      const resharding = await Resharding.create(plan)
      await resharding.start()
      expect(resharding.state).toBe('copying')
      const status = await resharding.waitCaughtUp()
      expect(status.pairs.every((p) => p.tables > 0 && p.tablesReady === p.tables)).toBe(true)

      const report = await resharding.verify()
      expect(report.mismatches).toEqual([])
      expect(report.rows).toBeGreaterThan(0)

      const before = load.acked.length
      const cutover = await resharding.cutover({ routers: [router] })
      expect(resharding.state).toBe('cut-over')
      expect(router.map.version).toBe(2)
      expect(cutover.pauseMs).toBeGreaterThan(0) // recorded; the bench reports it (no wall-clock floor here)
      // Writes went on after the switch, to the doubled map.
      while (load.acked.length < before + 200) await new Promise((r) => setTimeout(r, 20))
      await load.stop()
      expect(load.failures).toEqual([])

      const done = await resharding.complete()
      expect(resharding.state).toBe('completed')
      expect(done.deletedRows).toBeGreaterThan(0)
      expectExactlyOnce(await everyRow(router, to), load.acked, to)
      // Lookups and broadcast copies work on the doubled map, in the new databases too.
      expect(String(await router.lookup('usernames', 'user7'))).toBe('7')
      for (const d of [0, 5, 7]) {
        const { rows } = await router
          .cluster(d)
          .query<{ n: number }>('SELECT count(*)::int AS n FROM countries')
        expect(rows[0]!.n).toBe(1)
      }
    } finally {
      await load.stop()
      await router.end()
    }
  }, 180_000)

  it('reverse after cutover goes back to the old map and loses no write taken by either side', async () => {
    const { map, router } = await seeded('rsr')
    const plan = planDoubling(map, { servers: { b: { primary: serverOf(targets) } } })
    const load = writeLoad(router)
    try {
      const resharding = await Resharding.create(plan)
      await resharding.start()
      await resharding.waitCaughtUp()
      await resharding.cutover({ routers: [router] })
      const before = load.acked.length
      while (load.acked.length < before + 200) await new Promise((r) => setTimeout(r, 20))

      // Going back needs a newer map version than the doubled one: the old layout, renumbered.
      const back = parseShardMap({ ...map.toJSON(), version: 3 })
      await resharding.reverse({ routers: [router] })
      expect(router.map.version).toBe(back.version)
      expect(resharding.state).toBe('reversed')
      expect(router.map.databases).toHaveLength(4)
      const after = load.acked.length
      while (load.acked.length < after + 200) await new Promise((r) => setTimeout(r, 20))
      await load.stop()
      expect(load.failures).toEqual([])
      expectExactlyOnce(await everyRow(router, back), load.acked, back)
    } finally {
      await load.stop()
      await router.end()
    }
  }, 180_000)
})
