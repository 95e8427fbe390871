import { parseShardMap } from '@hundredfold/shard'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { microblogShardMap } from './shard-layouts.js'
import { client, type RunningBlog, signUp, startBlogOnMap } from './support.js'

// The full layout the seed asks for: 16 databases × 64 tables, over two PostgreSQL servers. Start-up
// creates the databases and every physical table (8 tables × 64 × 16, plus locations and secrets).

const document = microblogShardMap({ databases: 16, tables: 64 })
const map = parseShardMap(document)

describe('the microblog on 16 databases × 64 tables', () => {
  let running: RunningBlog | undefined
  const api = client(() => running!.url)

  beforeAll(async () => {
    running = await startBlogOnMap(document, { HF_REGISTER_LIMIT_IP: 'off' })
  }, 240_000)
  afterAll(async () => running?.stop(), 60_000)

  it('makes every physical table on both servers', async () => {
    const servers = new Set(map.databases.map((d) => d.server.name))
    expect(servers).toEqual(new Set(['a', 'b']))
    let tables = 0
    for (const d of map.databases) {
      const db = new pg.Client({ connectionString: `${d.server.primary}/${d.name}` })
      await db.connect()
      try {
        const { rows } = await db.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '_[0-9]{2}$'",
        )
        tables += Number(rows[0]!.n)
      } finally {
        await db.end()
      }
    }
    // users, user_counters, posts, mentions, following, followers, usernames, user_external_ids: 64
    // each per database; post_locations and app_secrets: one each per database.
    expect(tables).toBe(16 * (8 * 64 + 2))
  })

  it('serves the whole path, each row in the physical table its key hashes to', async () => {
    const users = await Promise.all(Array.from({ length: 24 }, (_, i) => signUp(api, `full_${i}`)))
    // Everyone follows the next three; everyone posts once, mentioning the next one, near Paris.
    for (const [i, u] of users.entries()) {
      for (const d of [1, 2, 3]) {
        const followee = users[(i + d) % users.length]!
        expect((await api.post(`/api/v1/users/${followee.id}/follow`, undefined, u.token)).status).toBe(200)
      }
    }
    const posts: string[] = []
    for (const [i, u] of users.entries()) {
      const text = `hello from ${i} @full_${(i + 1) % users.length}`
      const res = await api.post(
        '/api/v1/posts',
        { text, latitude: 48.85 + i / 1000, longitude: 2.35 },
        u.token,
      )
      expect(res.status).toBe(201)
      posts.push(res.body.post_id)
    }
    // A home timeline: the three followees' posts and the post that mentions the reader, newest first.
    const home = await api.get('/api/v1/timeline?limit=10', users[5]!.token)
    const expected = [posts[6], posts[7], posts[8], posts[4]].sort((a, b) =>
      BigInt(b!) > BigInt(a!) ? 1 : -1,
    )
    expect(home.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual(expected)
    const profile = await api.get(`/api/v1/users/${users[5]!.id}`)
    expect(profile.body).toMatchObject({ followers: 3, following: 3, posts: 1 })
    const near = await api.get('/api/v1/posts/nearby?lat=48.85&lon=2.35&radius_m=100000&limit=30')
    expect(near.body.posts).toHaveLength(users.length)

    const databases = new Set<number>()
    for (const u of users) {
      const where = map.resolve('users', u.id)
      databases.add(where.databaseIndex)
      const db = new pg.Client({ connectionString: `${where.server.primary}/${where.database}` })
      await db.connect()
      try {
        const { rows } = await db.query(`SELECT username FROM ${where.physicalTable} WHERE user_id = $1`, [
          u.id,
        ])
        expect(rows).toHaveLength(1)
        const posts = map.resolve('posts', u.id)
        expect(posts.tableIndex).toBe(where.tableIndex)
        const { rows: own } = await db.query(
          `SELECT count(*)::int AS n FROM ${posts.physicalTable} WHERE author_id = $1`,
          [u.id],
        )
        expect(own).toEqual([{ n: 1 }])
      } finally {
        await db.end()
      }
    }
    // 24 users over 16 databases: spread, not piled on one.
    expect(databases.size).toBeGreaterThan(8)
  })
})
