import { randomBytes } from 'node:crypto'
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

const postColumns =
  'post_id, author_id, req_id, post_type, text, mentions, urls, media, latitude, longitude, created_at'

/**
 * Posts, keyed by author. Composing resolves mentions, shortens URLs, and writes the post, its
 * mention index rows, its location and the author's counter in one transaction.
 */
export class PostService {
  readonly #db: Cluster
  readonly #ids: Snowflake
  readonly #users: UserService
  readonly #geo: GeoStore

  constructor(db: Cluster, ids: Snowflake, users: UserService, geo: GeoStore) {
    this.#db = db
    this.#ids = ids
    this.#users = users
    this.#geo = geo
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
    return this.#db.transaction(async (tx) => {
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
  }

  /** An author's posts, newest first (one shard, one index range: the offset is skipped in the server). */
  async byAuthor(authorId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    const { rows } = await this.#db.read<Post>(
      `SELECT ${postColumns} FROM posts
       WHERE author_id = $1 AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [authorId, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
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
