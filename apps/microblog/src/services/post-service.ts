import { randomBytes } from 'node:crypto'
import type { Cache } from '@hundredfold/cache'
import type { Snowflake } from '@hundredfold/id'
import type { Cluster } from '@hundredfold/pg'
import { extractMentions, shortenUrls } from '../domain/text.js'
import type { GeoStore } from './geo-store.js'
import type { CallOptions, Media, Mention, PageRequest, Post } from './types.js'
import type { UserService } from './user-service.js'

export interface ComposeInput {
  authorId: string
  text: string
  latitude?: number | undefined
  longitude?: number | undefined
  media?: Media[] | undefined
  postType?: number | undefined
  /** DeathStarBench's request id; random when absent. */
  reqId?: string | undefined
}

/** A post's place in its author's shard: enough to fetch it. */
export interface PostKey {
  author_id: string
  post_id: string
}

/** How many of an author's newest post keys are cached as one entry: the pages a user timeline serves. */
const RECENT = 50

/** Cache keys: a post's body, and an author's newest post keys. */
export const postKey = (postId: string) => `post:${postId}`
export const recentKey = (authorId: string) => `recent:${authorId}`

const postColumns =
  'post_id, author_id, req_id, post_type, text, mentions, urls, media, latitude, longitude, created_at'

/**
 * Posts, keyed by author. Composing resolves mentions, shortens URLs, and writes the post, its
 * mention index rows, its location and the author's counter in one transaction.
 *
 * With a cache: post bodies (immutable once written) are multi-got by id, and each author's newest
 * post keys are one entry that serves the first pages of their timeline. Compose deletes that entry
 * after the commit and before it returns, so the author's next read cannot miss the new post.
 */
export class PostService {
  readonly #db: Cluster
  readonly #ids: Snowflake
  readonly #users: UserService
  readonly #geo: GeoStore
  readonly #cache: Cache | undefined

  constructor(db: Cluster, ids: Snowflake, users: UserService, geo: GeoStore, cache?: Cache) {
    this.#db = db
    this.#ids = ids
    this.#users = users
    this.#geo = geo
    this.#cache = cache
  }

  async compose(input: ComposeInput, options: CallOptions = {}): Promise<Post> {
    const names = extractMentions(input.text)
    const found = await this.#users.getManyByUsername(names, options)
    const mentions: Mention[] = names
      .map((name) => found.get(name))
      .filter((user) => user !== undefined && user.user_id !== input.authorId)
      .map((user) => ({ user_id: user!.user_id, username: user!.username, external_id: user!.external_id }))
    const { text, urls } = shortenUrls(input.text)
    const postId = this.#ids.nextString()
    const reqId = input.reqId ?? (randomBytes(8).readBigUInt64BE() >> 1n).toString()
    const hasLocation = input.latitude !== undefined && input.longitude !== undefined
    const post = await this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<Post>(
        `INSERT INTO posts (author_id, post_id, req_id, post_type, text, mentions, urls, media, latitude, longitude)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${postColumns}`,
        [
          input.authorId,
          postId,
          reqId,
          input.postType ?? 0,
          text,
          JSON.stringify(mentions),
          JSON.stringify(urls),
          JSON.stringify(input.media ?? []),
          hasLocation ? input.latitude : null,
          hasLocation ? input.longitude : null,
        ],
      )
      for (const mention of mentions) {
        await tx.query('INSERT INTO mentions (user_id, post_id, author_id) VALUES ($1, $2, $3)', [
          mention.user_id,
          postId,
          input.authorId,
        ])
      }
      if (hasLocation) await this.#geo.insert(tx, postId, input.authorId, input.latitude!, input.longitude!)
      await tx.query('UPDATE user_counters SET posts = posts + 1 WHERE user_id = $1', [input.authorId])
      return rows[0]!
    }, options)
    await this.#cache?.delete(recentKey(input.authorId), options)
    return post
  }

  /** An author's posts, newest first (one shard, one index range: the offset is skipped in the server). */
  async byAuthor(authorId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    if (this.#cache) {
      const keys = await this.#recent(authorId, page, options)
      if (keys) return this.getMany(keys, options)
    }
    const { rows } = await this.#db.read<Post>(
      `SELECT ${postColumns} FROM posts
       WHERE author_id = $1 AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [authorId, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
  }

  /** The page's keys from the author's cached newest keys, or undefined when the page reaches past them. */
  async #recent(authorId: string, page: PageRequest, options: CallOptions): Promise<PostKey[] | undefined> {
    const recent = await this.#cache!.getOrLoad(
      recentKey(authorId),
      async (_key, signal) => {
        const { rows } = await this.#db.query<PostKey>(
          'SELECT author_id, post_id FROM posts WHERE author_id = $1 ORDER BY post_id DESC LIMIT $2',
          [authorId, RECENT],
          { signal },
        )
        return rows
      },
      // A client that carries a consistency token has just written: skip L1, which may not have heard yet.
      { signal: options.signal, bypassL1: options.session?.token !== undefined },
    )
    const list = recent ?? []
    const eligible = page.before === undefined ? list : list.filter((k) => BigInt(k.post_id) < page.before!)
    const start = page.offset ?? 0
    const complete = list.length < RECENT
    if (!complete && eligible.length < start + page.limit) return undefined
    return eligible.slice(start, start + page.limit)
  }

  /**
   * Keys of the newest posts of several authors, merged. Timelines merge and page over keys and fetch
   * bodies only for the page: a page deep in a timeline then costs ten rows, not `offset + 10`.
   */
  async keysByAuthors(
    authorIds: readonly string[],
    page: PageRequest,
    options: CallOptions = {},
  ): Promise<PostKey[]> {
    if (authorIds.length === 0) return []
    const { rows } = await this.#db.read<PostKey>(
      `SELECT author_id, post_id FROM posts
       WHERE author_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [authorIds, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
  }

  /** Posts by key, in the order asked; missing ones are skipped. */
  async getMany(keys: readonly PostKey[], options: CallOptions = {}): Promise<Post[]> {
    if (keys.length === 0) return []
    if (this.#cache) {
      const byKey = new Map(keys.map((k) => [postKey(k.post_id), k]))
      const found = await this.#cache.getManyOrLoad<Post>(
        [...byKey.keys()],
        async (missing, signal) => {
          const wanted = missing.map((key) => byKey.get(key)!)
          const { rows } = await this.#db.query<Post>(
            `SELECT ${postColumns} FROM posts
             WHERE (author_id, post_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`,
            [wanted.map((k) => k.author_id), wanted.map((k) => k.post_id)],
            { signal },
          )
          return new Map(rows.map((post) => [postKey(post.post_id), post]))
        },
        options,
      )
      return keys.map((k) => found.get(postKey(k.post_id))).filter((post): post is Post => post !== undefined)
    }
    const { rows } = await this.#db.read<Post>(
      `SELECT ${postColumns} FROM posts
       WHERE (author_id, post_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`,
      [keys.map((k) => k.author_id), keys.map((k) => k.post_id)],
      options,
    )
    const byId = new Map(rows.map((post) => [post.post_id, post]))
    return keys.map((k) => byId.get(k.post_id)).filter((post): post is Post => post !== undefined)
  }

  /** Keys of the newest posts that mention a user. */
  async mentioning(userId: string, page: PageRequest, options: CallOptions = {}): Promise<PostKey[]> {
    const { rows } = await this.#db.read<PostKey>(
      `SELECT author_id, post_id FROM mentions
       WHERE user_id = $1 AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [userId, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
  }
}
