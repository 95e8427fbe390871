import type { Session } from '@hundredfold/pg'
import type { RequestTiming } from '../request-timing.js'

/** A user as services see it. Ids are decimal strings (64-bit). */
export interface User {
  user_id: string
  username: string
  display_name: string
  /** The id a DeathStarBench client chose for this user, when registered through `/wrk2-api`. */
  external_id: string | null
  created_at: Date
  /** Bumped by logout and password change; tokens signed with an older one are revoked. */
  token_version: number
}

export interface UserCounters {
  followers: number
  following: number
  posts: number
}

export interface Mention {
  user_id: string
  username: string
  external_id: string | null
}

export interface Media {
  media_id: string
  media_type: string
}

export interface PostUrl {
  shortened_url: string
  expanded_url: string
}

/** A stored post. `post_id` is a Snowflake id, so ordering by it is ordering by time. */
export interface Post {
  post_id: string
  author_id: string
  req_id: string
  post_type: number
  text: string
  mentions: Mention[]
  urls: PostUrl[]
  media: Media[]
  latitude: number | null
  longitude: number | null
  created_at: Date
}

/** Where a page of a timeline starts: keyset (`before` a post id) or offset (DeathStarBench's start/stop). */
export interface PageRequest {
  before?: bigint | undefined
  offset?: number
  limit: number
}

/** Common per-call options: the request's deadline, and its read-your-writes session. */
export interface CallOptions {
  signal?: AbortSignal | undefined
  session?: Session | undefined
  /** Read from the primary: the caller acts on what it reads and cannot take a lagging replica's view. */
  fresh?: boolean | undefined
  /** The request's stage timing (`Server-Timing`), when it is measured. */
  timing?: RequestTiming | undefined
}
