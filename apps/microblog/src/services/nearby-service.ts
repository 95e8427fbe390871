import type { GeoStore } from './geo-store.js'
import type { PostService } from './post-service.js'
import type { CallOptions, Post } from './types.js'

export interface NearbyQuery {
  latitude: number
  longitude: number
  radiusM: number
  limit: number
}

/** Posts near a point: the geo index finds keys, the post store (keyed by author) supplies bodies. */
export class NearbyService {
  readonly #geo: GeoStore
  readonly #posts: PostService

  constructor(geo: GeoStore, posts: PostService) {
    this.#geo = geo
    this.#posts = posts
  }

  async search(
    query: NearbyQuery,
    options: CallOptions = {},
  ): Promise<Array<{ post: Post; distance_m: number }>> {
    const hits = await this.#geo.search(query.latitude, query.longitude, query.radiusM, query.limit, options)
    const posts = new Map((await this.#posts.getMany(hits, options)).map((post) => [post.post_id, post]))
    return hits.flatMap((hit) => {
      const post = posts.get(hit.post_id)
      return post ? [{ post, distance_m: Math.round(hit.distance_m * 10) / 10 }] : []
    })
  }
}
