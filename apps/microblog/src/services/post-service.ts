import type { Snowflake } from '@hundredfold/id'
import { randomInt63 } from '../domain/random.js'
import { extractMentions, shortenUrls } from '../domain/text.js'
import { DELETED_ON_WRITE, IMMUTABLE, type MeasuredCache } from '../storage/measured-cache.js'
import type { Reader, Statements, Store, WriteStep } from '../storage/store.js'
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

/**
 * How many of an author's newest post keys are cached as one entry: the pages a user timeline serves
 * without the database. DeathStarBench's reads reach 110 deep (`start` up to 100, ten per page), and a
 * key is ~40 bytes, so an entry stays a few KB.
 */
const RECENT = 128

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
  readonly #db: Store
  readonly #ids: Snowflake
  readonly #users: UserService
  readonly #geo: GeoStore
  readonly #cache: MeasuredCache | undefined

  constructor(db: Store, ids: Snowflake, users: UserService, geo: GeoStore, cache?: MeasuredCache) {
    this.#db = db
    this.#ids = ids
    this.#users = users
    this.#geo = geo
    this.#cache = cache
  }

  /**
   * Composes and stores a post now (the synchronous write path): the post, its mention index rows, its
   * location and the author's counter in one transaction; then the author's cached timeline is dropped.
   */
  async compose(input: ComposeInput, options: CallOptions = {}): Promise<Post> {
    const post = await this.prepare(input, options)
    await this.persist([post], options)
    return post
  }

  /**
   * Everything a post needs before it is stored: mentions resolved, URLs shortened, a Snowflake id, its
   * time. The queued write path publishes this whole object, so consumers never read it back.
   */
  async prepare(input: ComposeInput, options: CallOptions = {}): Promise<Post> {
    const names = extractMentions(input.text)
    const found = await this.#users.getManyByUsername(names, options)
    const mentions: Mention[] = names
      .map((name) => found.get(name))
      .filter((user) => user !== undefined && user.user_id !== input.authorId)
      .map((user) => ({ user_id: user!.user_id, username: user!.username, external_id: user!.external_id }))
    const { text, urls } = shortenUrls(input.text)
    const hasLocation = input.latitude !== undefined && input.longitude !== undefined
    return {
      post_id: this.#ids.nextString(),
      author_id: input.authorId,
      req_id: input.reqId ?? randomInt63(),
      post_type: input.postType ?? 0,
      text,
      mentions,
      urls,
      media: input.media ?? [],
      latitude: hasLocation ? input.latitude! : null,
      longitude: hasLocation ? input.longitude! : null,
      created_at: new Date(),
    }
  }

  /**
   * Stores posts idempotently: a post already stored (a redelivery) is skipped with its counter, so
   * each post counts once however often it arrives. On one database, one transaction. Sharded, the
   * index rows (mentions, locations: idempotent) are written first, each on its shard, then each
   * author shard's posts and counters in one transaction: a post is never visible without its index
   * rows, and a stray index row (a failed write, retried) points at nothing and is skipped on read.
   * Returns the posts stored by this call.
   */
  async persist(posts: readonly Post[], options: CallOptions = {}): Promise<Post[]> {
    if (posts.length === 0) return []
    const stored: Post[] = []
    const mentions = posts
      .flatMap((p) => p.mentions.map((m) => [m.user_id, p.post_id, p.author_id] as const))
      .sort((a, b) => byIds(a[0], b[0]) || byIds(a[1], b[1]))
    const located = posts.filter((p) => p.latitude !== null && p.longitude !== null)
    const steps: WriteStep[] = []
    for (const { keys } of this.#db.writeGroups('mentions', [...new Set(mentions.map((m) => m[0]))])) {
      const users = new Set(keys)
      const rows = mentions.filter((m) => users.has(m[0]))
      steps.push({
        table: 'mentions',
        key: keys[0]!,
        run: async (tx) => {
          await tx.query(
            `INSERT INTO {mentions} (user_id, post_id, author_id)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING`,
            [rows.map((m) => m[0]), rows.map((m) => m[1]), rows.map((m) => m[2])],
          )
        },
      })
    }
    for (const { keys } of this.#db.writeGroups(
      'post_locations',
      located.map((p) => p.post_id),
    )) {
      const ids = new Set(keys)
      const here = located.filter((p) => ids.has(p.post_id))
      steps.push({ table: 'post_locations', key: keys[0]!, run: (tx) => this.#geo.insert(tx, here) })
    }
    for (const { keys } of this.#db.writeGroups('posts', [...new Set(posts.map((p) => p.author_id))])) {
      const authors = new Set(keys)
      const mine = posts
        .filter((p) => authors.has(p.author_id))
        .sort((a, b) => byIds(a.author_id, b.author_id) || byIds(a.post_id, b.post_id))
      steps.push({
        table: 'posts',
        key: keys[0]!,
        run: async (tx) => {
          const { rows } = await tx.query<{ post_id: string }>(
            `INSERT INTO {posts} (author_id, post_id, req_id, post_type, text, mentions, urls, media, latitude, longitude, created_at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::jsonb[],
                                  $7::jsonb[], $8::jsonb[], $9::float8[], $10::float8[], $11::timestamptz[])
             ON CONFLICT DO NOTHING RETURNING post_id`,
            [
              mine.map((p) => p.author_id),
              mine.map((p) => p.post_id),
              mine.map((p) => p.req_id),
              mine.map((p) => p.post_type),
              mine.map((p) => p.text),
              mine.map((p) => JSON.stringify(p.mentions)),
              mine.map((p) => JSON.stringify(p.urls)),
              mine.map((p) => JSON.stringify(p.media)),
              mine.map((p) => p.latitude),
              mine.map((p) => p.longitude),
              mine.map((p) => new Date(p.created_at).toISOString()),
            ],
          )
          const inserted = new Set(rows.map((r) => r.post_id))
          const fresh = mine.filter((p) => inserted.has(p.post_id))
          if (fresh.length === 0) return
          const perAuthor = new Map<string, number>()
          for (const p of fresh) perAuthor.set(p.author_id, (perAuthor.get(p.author_id) ?? 0) + 1)
          const counted = [...perAuthor.keys()].sort(byIds)
          // Lock the counter rows in id order first: two batches with shared authors cannot deadlock.
          await tx.query(
            'SELECT 1 FROM {user_counters} WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE',
            [counted],
          )
          await tx.query(
            `UPDATE {user_counters} SET posts = posts + c.n
             FROM unnest($1::bigint[], $2::int[]) AS c(user_id, n) WHERE {user_counters}.user_id = c.user_id`,
            [counted, counted.map((a) => perAuthor.get(a)!)],
          )
          stored.push(...fresh)
        },
      })
    }
    try {
      await this.#db.steps(steps, options)
    } catch (err) {
      // On one database nothing was stored: the transaction rolled back.
      if (this.#db.layout === 'single') stored.length = 0
      throw err
    }
    const authors = new Set(posts.map((p) => p.author_id))
    if (this.#cache) await Promise.all([...authors].map((a) => this.#cache!.delete(recentKey(a), options)))
    return stored
  }

  /** An author's posts, newest first (one shard, one index range: the offset is skipped in the server). */
  async byAuthor(authorId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    if (this.#cache) {
      const keys = await this.#recent(authorId, page, options)
      if (keys) return this.getMany(keys, options)
    }
    const { rows } = await this.#db.on('posts', authorId).read<Post>(
      `SELECT ${postColumns} FROM {posts}
       WHERE author_id = $1 AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [authorId, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
  }

  /**
   * Loads the newest keys of the authors of posts just stored (a write deleted their entry), and the
   * posts' bodies, so that their next readers find them in L2 rather than paying the database and two
   * Redis round trips on the request path. The queue's consumer calls it after {@link persist} (and the
   * fan-out): the fill is an ordinary one under a lease, so a write deleting the entry meanwhile voids
   * it as it would a reader's. Best effort: a failure leaves the entry to its first reader.
   */
  async warm(posts: readonly Post[], options: CallOptions = {}): Promise<void> {
    if (!this.#cache || posts.length === 0) return
    await Promise.all([
      // Their bodies too: every follower's next home page asks for them.
      this.getMany(posts, { signal: options.signal }).catch(() => undefined),
      this.#warmRecent(
        posts.map((p) => p.author_id),
        options,
      ),
    ])
  }

  async #warmRecent(authorIds: readonly string[], options: CallOptions): Promise<void> {
    const cache = this.#cache!
    const authors = [...new Set(authorIds)]
    const sql = `SELECT r.author_id, r.post_id FROM unnest($1::bigint[]) AS a(id)
       CROSS JOIN LATERAL (SELECT author_id, post_id FROM {posts} WHERE author_id = a.id
                           ORDER BY post_id DESC LIMIT $2) AS r
       ORDER BY r.author_id, r.post_id DESC`
    await cache
      .getManyOrLoad<PostKey[]>(
        authors.map(recentKey),
        async (keys, signal) => {
          const wanted = keys.map((key) => key.slice('recent:'.length))
          const parts = await Promise.all(
            this.#db
              .byShard('posts', wanted)
              .map(({ statements, keys: mine }) =>
                statements.load<PostKey>(sql, [mine, RECENT], { signal, timing: options.timing }),
              ),
          )
          // Every author asked gets an entry, an empty list too: as the single-author loader stores it.
          const lists = new Map<string, PostKey[]>(keys.map((key) => [key, []]))
          for (const row of parts.flatMap((part) => part.rows)) lists.get(recentKey(row.author_id))!.push(row)
          return lists
        },
        { signal: options.signal, ...DELETED_ON_WRITE },
      )
      .catch(() => undefined)
  }

  /** The author's newest keys (at most {@link RECENT}), through the cache. */
  #recentKeys(authorId: string, options: CallOptions): Promise<PostKey[] | undefined> {
    return this.#cache!.getOrLoad(
      recentKey(authorId),
      async (_key, signal) => {
        const { rows } = await this.#db
          .on('posts', authorId)
          .load<PostKey>(
            'SELECT author_id, post_id FROM {posts} WHERE author_id = $1 ORDER BY post_id DESC LIMIT $2',
            [authorId, RECENT],
            { signal, timing: options.timing },
          )
        return rows
      },
      {
        signal: options.signal,
        // A client that carries a consistency token has just written: skip L1, which may not have heard yet.
        bypassL1: options.session?.token !== undefined,
        timing: options.timing,
        ...DELETED_ON_WRITE,
      },
    )
  }

  /** The page's keys from the author's cached newest keys, or undefined when the page reaches past them. */
  async #recent(authorId: string, page: PageRequest, options: CallOptions): Promise<PostKey[] | undefined> {
    const recent = await this.#recentKeys(authorId, options)
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
    const sql = `SELECT author_id, post_id FROM {posts}
       WHERE author_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`
    const before = page.before?.toString() ?? null
    const offset = page.offset ?? 0
    const groups = this.#db.byShard('posts', authorIds)
    if (groups.length === 1) {
      return (
        await this.#reader(groups[0]!.statements, options)<PostKey>(
          sql,
          [authorIds, before, page.limit, offset],
          options,
        )
      ).rows
    }
    // Each shard's first offset + limit keys hold the page of the merge.
    const parts = await Promise.all(
      groups.map(({ statements, keys }) =>
        this.#reader(statements, options)<PostKey>(sql, [keys, before, offset + page.limit, 0], options),
      ),
    )
    return parts
      .flatMap((part) => part.rows)
      .sort((a, b) => byIds(b.post_id, a.post_id))
      .slice(offset, offset + page.limit)
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
          const rows = await this.#byKeys(wanted, 'load', { signal, timing: options.timing })
          return new Map(rows.map((post) => [postKey(post.post_id), post]))
        },
        { ...options, ...IMMUTABLE },
      )
      return keys.map((k) => found.get(postKey(k.post_id))).filter((post): post is Post => post !== undefined)
    }
    const rows = await this.#byKeys(keys, 'read', options)
    const byId = new Map(rows.map((post) => [post.post_id, post]))
    return keys.map((k) => byId.get(k.post_id)).filter((post): post is Post => post !== undefined)
  }

  /** Posts by key: one statement per physical table holding some of them. */
  async #byKeys(keys: readonly PostKey[], kind: 'load' | 'read', options: CallOptions): Promise<Post[]> {
    const sql = `SELECT ${postColumns} FROM {posts}
       WHERE (author_id, post_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`
    const groups = this.#db.byShard('posts', [...new Set(keys.map((k) => k.author_id))])
    const parts = await Promise.all(
      groups.map(({ statements, keys: authors }) => {
        const mine = new Set(authors)
        const wanted = keys.filter((k) => mine.has(k.author_id))
        return statements[kind]<Post>(
          sql,
          [wanted.map((k) => k.author_id), wanted.map((k) => k.post_id)],
          options,
        )
      }),
    )
    return parts.flatMap((part) => part.rows)
  }

  /** Keys of the newest posts that mention a user. */
  async mentioning(userId: string, page: PageRequest, options: CallOptions = {}): Promise<PostKey[]> {
    const { rows } = await this.#reader(this.#db.on('mentions', userId), options)<PostKey>(
      `SELECT author_id, post_id FROM {mentions}
       WHERE user_id = $1 AND ($2::bigint IS NULL OR post_id < $2::bigint)
       ORDER BY post_id DESC LIMIT $3 OFFSET $4`,
      [userId, page.before?.toString() ?? null, page.limit, page.offset ?? 0],
      options,
    )
    return rows
  }

  /** Replica reads, or the primary's when the caller needs what was just committed (`fresh`). */
  #reader(statements: Statements, options: CallOptions): Reader['read'] {
    return options.fresh ? statements.query.bind(statements) : statements.read.bind(statements)
  }
}

/** Ascending order of decimal ids. */
function byIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}
