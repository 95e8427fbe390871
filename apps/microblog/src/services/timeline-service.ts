import type { GraphService } from './graph-service.js'
import type { PostService } from './post-service.js'
import type { CallOptions, PageRequest, Post } from './types.js'

/**
 * Timelines, computed by query for now: a user's own posts, and a home timeline made of the posts
 * of everyone they follow plus the posts that mention them (DeathStarBench's definition).
 */
export class TimelineService {
  readonly #posts: PostService
  readonly #graph: GraphService

  constructor(posts: PostService, graph: GraphService) {
    this.#posts = posts
    this.#graph = graph
  }

  user(userId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
    return this.#posts.byAuthor(userId, page, options)
  }

  async home(userId: string, page: PageRequest, options: CallOptions = {}): Promise<Post[]> {
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
    return this.#posts.getMany(merged.slice(offset, offset + page.limit), options)
  }
}

function compareIdsDesc(a: string, b: string): number {
  if (a.length !== b.length) return b.length - a.length
  return a < b ? 1 : a > b ? -1 : 0
}
