import { databaseUrl, type ShardMap } from '@hundredfold/shard'
import pg from 'pg'
import type { AckedFollow, AckedPost } from './reshard-load.js'

/** What one audit of the shards against the acknowledged writes found. */
export interface WriteAudit {
  readonly map: number
  readonly posts: number
  readonly follows: number
  /** Acknowledged writes not where the map puts them (a follow counts once per missing side). */
  readonly lost: number
  /** Acknowledged posts stored more than once, or follow edges present twice on one side. */
  readonly duplicated: number
  /** Users whose counters disagree with the rows they count. */
  readonly counterMismatches: number
  /** Rows in a physical place the map does not give their key: copies a `complete` deletes. */
  readonly stray: number
  /** Of the composes answered with an error (or not at all), those stored anyway. */
  readonly storedDespiteError: number
  /** The first few lost writes, and why: for the failure message. */
  readonly lostSamples: readonly string[]
}

/** The rows of the keyed tables, read where they are, each with whether the map puts it there. */
interface Found {
  externalToUser: Map<string, string>
  posts: Map<string, { author: string; owned: number }>
  following: Map<string, number>
  followers: Map<string, number>
  counters: Map<string, { followers: number; following: number; posts: number }>
  ownedPostsBy: Map<string, number>
  ownedFollowing: Map<string, number>
  ownedFollowers: Map<string, number>
  stray: number
}

const edge = (follower: string, followee: string) => `${follower}>${followee}`

/**
 * Reads every physical table of `map`'s databases and checks the writes acknowledged so far: each
 * post once (by its unique text) in its author's shard, each follow once on both sides, every user's
 * counters equal to the rows they count — counting only rows in the place the map gives their key.
 */
export async function auditWrites(
  map: ShardMap,
  posts: readonly AckedPost[],
  follows: readonly AckedFollow[],
  failedTexts: readonly string[] = [],
): Promise<WriteAudit> {
  const found = await readShards(map)
  const user = (externalId: string) => found.externalToUser.get(externalId) ?? `missing:${externalId}`
  let lost = 0
  let duplicated = 0
  const lostSamples: string[] = []
  const lose = (why: string) => {
    lost++
    if (lostSamples.length < 5) lostSamples.push(why)
  }
  for (const post of posts) {
    const row = found.posts.get(post.text)
    if (row === undefined)
      lose(`post '${post.text}' of ${post.author} (acked at ${Math.round(post.at)}): not found`)
    else if (row.author !== user(post.author))
      lose(`post '${post.text}': author ${row.author}, not ${user(post.author)}`)
    else if (row.owned > 1) duplicated++
  }
  for (const f of follows) {
    const key = edge(user(f.follower), user(f.followee))
    for (const [name, side] of [
      ['following', found.following],
      ['followers', found.followers],
    ] as const) {
      const n = side.get(key) ?? 0
      if (n === 0) lose(`follow ${key} (acked at ${Math.round(f.at)}): not in ${name}`)
      else if (n > 1) duplicated++
    }
  }
  let counterMismatches = 0
  for (const [userId, c] of found.counters) {
    if (
      c.posts !== (found.ownedPostsBy.get(userId) ?? 0) ||
      c.following !== (found.ownedFollowing.get(userId) ?? 0) ||
      c.followers !== (found.ownedFollowers.get(userId) ?? 0)
    )
      counterMismatches++
  }
  return {
    map: map.version,
    posts: posts.length,
    follows: follows.length,
    lost,
    duplicated,
    counterMismatches,
    stray: found.stray,
    lostSamples,
    storedDespiteError: failedTexts.filter((text) => found.posts.has(text)).length,
  }
}

async function readShards(map: ShardMap): Promise<Found> {
  const found: Found = {
    externalToUser: new Map(),
    posts: new Map(),
    following: new Map(),
    followers: new Map(),
    counters: new Map(),
    ownedPostsBy: new Map(),
    ownedFollowing: new Map(),
    ownedFollowers: new Map(),
    stray: 0,
  }
  const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
  const owned = (table: string, key: string, label: string) => {
    const here = map.resolve(table, key).label === label
    if (!here) found.stray++
    return here
  }
  await Promise.all(
    map.databases.map(async (database) => {
      const client = new pg.Client({ connectionString: databaseUrl(database.server.primary, database.name) })
      client.on('error', () => {})
      await client.connect()
      try {
        const on = (table: string) => map.locations(table).filter((l) => l.databaseIndex === database.index)
        for (const l of on('users')) {
          const { rows } = await client.query<{ user_id: string; external_id: string | null }>(
            `SELECT user_id::text, external_id::text FROM ${l.physicalTable}`,
          )
          for (const r of rows) {
            if (owned('users', r.user_id, l.label) && r.external_id !== null)
              found.externalToUser.set(r.external_id, r.user_id)
          }
        }
        for (const l of on('user_counters')) {
          const { rows } = await client.query<{
            user_id: string
            followers: number
            following: number
            posts: number
          }>(`SELECT user_id::text, followers::int, following::int, posts::int FROM ${l.physicalTable}`)
          for (const r of rows)
            if (owned('user_counters', r.user_id, l.label)) found.counters.set(r.user_id, r)
        }
        for (const l of on('posts')) {
          const { rows } = await client.query<{ author_id: string; text: string }>(
            `SELECT author_id::text, text FROM ${l.physicalTable}`,
          )
          for (const r of rows) {
            if (!owned('posts', r.author_id, l.label)) continue
            bump(found.ownedPostsBy, r.author_id)
            const seen = found.posts.get(r.text)
            found.posts.set(r.text, { author: r.author_id, owned: (seen?.owned ?? 0) + 1 })
          }
        }
        for (const [table, key, counts, per] of [
          ['following', 'follower_id', found.following, found.ownedFollowing],
          ['followers', 'followee_id', found.followers, found.ownedFollowers],
        ] as const) {
          for (const l of on(table)) {
            const { rows } = await client.query<{ follower_id: string; followee_id: string }>(
              `SELECT follower_id::text, followee_id::text FROM ${l.physicalTable}`,
            )
            for (const r of rows) {
              if (!owned(table, r[key], l.label)) continue
              bump(counts, edge(r.follower_id, r.followee_id))
              bump(per, r[key])
            }
          }
        }
      } finally {
        await client.end()
      }
    }),
  )
  return found
}
