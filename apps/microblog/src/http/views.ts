import type { Post, User } from '../services/types.js'

/** A user as `/api/v1` shows it: no password hash, no external id. */
export function userJson(user: User) {
  return {
    user_id: user.user_id,
    username: user.username,
    display_name: user.display_name,
    created_at: user.created_at.toISOString(),
  }
}

/** A post as `/api/v1` shows it. */
export function postJson(post: Post, author: User | undefined, distanceM?: number) {
  return {
    post_id: post.post_id,
    author: author
      ? userJson(author)
      : { user_id: post.author_id, username: '', display_name: '', created_at: '' },
    text: post.text,
    mentions: post.mentions.map((m) => ({ user_id: m.user_id, username: m.username })),
    urls: post.urls,
    media: post.media,
    location:
      post.latitude === null || post.longitude === null
        ? null
        : { latitude: post.latitude, longitude: post.longitude },
    ...(distanceM === undefined ? {} : { distance_m: distanceM }),
    created_at: post.created_at.toISOString(),
  }
}

/** A post exactly as DeathStarBench socialNetwork returns it (ids and timestamp as strings, its field names). */
export function wrk2PostJson(post: Post, author: User | undefined) {
  return {
    post_id: post.post_id,
    creator: {
      user_id: author?.external_id ?? post.author_id,
      username: author?.username ?? '',
    },
    req_id: post.req_id,
    text: post.text,
    user_mentions: post.mentions.map((m) => ({ user_id: m.external_id ?? m.user_id, username: m.username })),
    media: post.media.map((m) => ({ media_id: m.media_id, media_type: m.media_type })),
    urls: post.urls.map((u) => ({ shortened_url: u.shortened_url, expanded_url: u.expanded_url })),
    timestamp: String(post.created_at.getTime()),
    post_type: post.post_type,
  }
}
