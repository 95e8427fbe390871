import { timed } from '../request-timing.js'
import type { Delivery, HomeTimelines, TimelineEntry } from '../storage/home-timelines.js'
import { pageOf } from '../storage/home-timelines.js'
import type { GraphService } from './graph-service.js'
import type { PostService } from './post-service.js'
import type { CallOptions, PageRequest, Post } from './types.js'

/**
 * Where a home-timeline page came from: the fan-out store, a rebuild of it, a query (past the cap, or
 * no store), a query because the store failed (`degraded`), or a query because as many rebuilds as
 * allowed were already running (`deferred`: the timeline stays cold, a later read rebuilds it).
 */
export type HomeSource = 'store' | 'rebuild' | 'query' | 'degraded' | 'deferred'

/**
 * Rebuilds one process runs at once. A rebuild reads up to the store's cap from the primary, a page
 * query only a page: when the store comes back empty (Redis restarted), every reader would rebuild at
 * once; past this many, a reader is served by the page query and leaves the rebuild to a later one.
 */
export const MAX_CONCURRENT_REBUILDS = 4

/**
 * Timelines: a user's own posts, and a home timeline made of the posts of everyone they follow plus
 * the posts that mention them (DeathStarBench's definition).
 *
 * Without a store, a home timeline is a query over the followees' posts. With one (the queued write
 * path), it is kept by fan-out on write: `deliver()` adds each new post to its author's followers'
 * and its mentioned users' timelines; a cold timeline is rebuilt from the query on its first read;
 * pages older than the store's cap are read by query.
 */
export class TimelineService {
  readonly #posts: PostService
  readonly #graph: GraphService
  readonly #store: HomeTimelines | undefined
  /** Counts reads by source, for `/metrics`. */
  readonly homeReads: Record<HomeSource, number> = {
    store: 0,
    rebuild: 0,
    query: 0,
    degraded: 0,
    deferred: 0,
  }
  #rebuilding = 0

  constructor(posts: PostService, graph: GraphService, store?: HomeTimelines) {
    this.#posts = posts
    this.#graph = graph
    this.#store = store
  }

  get store(): HomeTimelines | undefined {
    return this.#store
  }

  user(userId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    return this.#posts.byAuthor(userId, page, options)
  }

  async home(userId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    let source: HomeSource = 'query'
    if (this.#store) {
      try {
        const entries = await this.#fromStore(this.#store, userId, page, options)
        if (entries === 'deferred') source = 'deferred'
        else if (entries) return this.#posts.getMany(entries, options)
      } catch (err) {
        // The store is away (Redis down): degrade to the query rather than fail the read.
        if (options.signal?.aborted) throw err
        source = 'degraded'
      }
    }
    this.homeReads[source]++
    const keys = await this.#sourceKeys(userId, page, options)
    return this.#posts.getMany(keys, options)
  }

  /**
   * The page from the store (rebuilding a cold timeline), undefined when the store cannot serve it, or
   * `deferred` when it is cold and enough rebuilds run already.
   */
  async #fromStore(
    store: HomeTimelines,
    userId: string,
    page: PageRequest,
    options: CallOptions,
  ): Promise<TimelineEntry[] | undefined | 'deferred'> {
    const wanted = { before: page.before, offset: page.offset ?? 0, limit: page.limit }
    const { signal, timing } = options
    let stored = await timed(timing, 'timeline', performance.now(), store.read(userId, wanted, signal))
    if (stored) this.homeReads.store++
    else {
      if (this.#rebuilding >= MAX_CONCURRENT_REBUILDS) return 'deferred'
      this.#rebuilding++
      const built = await this.#rebuild(store, userId, options).finally(() => this.#rebuilding--)
      if (built) {
        this.homeReads.rebuild++
        stored = { entries: pageOf(built, wanted), truncated: built.length >= store.max }
      } else stored = await timed(timing, 'timeline', performance.now(), store.read(userId, wanted, signal))
    }
    // A short page of a truncated timeline continues in the database.
    if (stored && (stored.entries.length === page.limit || !stored.truncated)) return stored.entries
    return undefined
  }

  /**
   * Adds posts to the home timelines of their authors' followers and of the users they mention, in
   * one round trip to the store. Cold timelines are skipped: their first read rebuilds them.
   */
  async deliver(posts: readonly Post[], options: CallOptions = {}): Promise<number> {
    const store = this.#store
    if (!store || posts.length === 0) return 0
    const followers = await this.#graph.followersOf([...new Set(posts.map((p) => p.author_id))], options)
    const inbox = new Map<string, TimelineEntry[]>()
    const push = (userId: string, entry: TimelineEntry) => {
      const list = inbox.get(userId)
      if (list) list.push(entry)
      else inbox.set(userId, [entry])
    }
    for (const post of posts) {
      const entry = { post_id: post.post_id, author_id: post.author_id }
      const to = new Set(followers.get(post.author_id))
      for (const mention of post.mentions) to.add(mention.user_id)
      to.delete(post.author_id)
      for (const userId of to) push(userId, entry)
    }
    const deliveries: Delivery[] = [...inbox].map(([userId, entries]) => ({ userId, entries }))
    await store.add(deliveries, options.signal)
    return deliveries.length
  }

  /**
   * Rebuilds a cold timeline from the primary (a replica could miss a post whose fan-out skipped this
   * cold timeline). Returns its entries, or undefined when another reader warmed it meanwhile or the
   * build was voided by an invalidation.
   */
  async #rebuild(
    store: HomeTimelines,
    userId: string,
    options: CallOptions,
  ): Promise<TimelineEntry[] | undefined> {
    const { signal, timing } = options
    const token = await timed(timing, 'timeline', performance.now(), store.beginBuild(userId, signal))
    if (token === undefined) return undefined
    let entries: TimelineEntry[]
    try {
      entries = await this.#sourceKeys(userId, { limit: store.max }, { ...options, fresh: true })
    } catch (err) {
      // Leave no build marker behind to make every reader rebuild until it expires.
      await timed(timing, 'timeline', performance.now(), store.invalidate([userId])).catch(() => {})
      throw err
    }
    const list = entries.map((k) => ({ post_id: k.post_id, author_id: k.author_id }))
    const start = performance.now()
    return (await timed(timing, 'timeline', start, store.finishBuild(userId, token, list, signal)))
      ? list
      : undefined
  }

  /** The page's keys, merged from the followees' posts and the posts that mention the user. */
  async #sourceKeys(userId: string, page: PageRequest, options: CallOptions): Promise<TimelineEntry[]> {
    const offset = page.offset ?? 0
    // Each source's first offset + limit entries hold the page of the merge.
    const depth: PageRequest = { before: page.before, limit: offset + page.limit, offset: 0 }
    const [followees, mentionKeys] = await Promise.all([
      this.#graph.followees(userId, options),
      this.#posts.mentioning(userId, depth, options),
    ])
    const followed = new Set(followees)
    const fromFollowees = await this.#posts.keysByAuthors(followees, depth, options)
    const merged = [...fromFollowees, ...mentionKeys.filter((key) => !followed.has(key.author_id))].sort(
      (a, b) => compareIdsDesc(a.post_id, b.post_id),
    )
    return merged.slice(offset, offset + page.limit)
  }
}

function compareIdsDesc(a: string, b: string): number {
  if (a.length !== b.length) return b.length - a.length
  return a < b ? 1 : a > b ? -1 : 0
}
