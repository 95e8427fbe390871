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

const wrk2Texts = new WeakMap<Post, string>()

/**
 * `JSON.stringify(wrk2PostJson(post, author))`, kept per post object. Nothing in it can change once the
 * post exists (its author's external id and username are fixed at registration), and the cache's L1
 * hands out the same object on every hit: so a post L1 holds is serialized once, not on every page
 * that shows it. A post without its author is not kept (the author may only be missing for now).
 */
export function wrk2PostText(post: Post, author: User | undefined): string {
  const kept = wrk2Texts.get(post)
  if (kept !== undefined) return kept
  const text = JSON.stringify(wrk2PostJson(post, author))
  if (author) wrk2Texts.set(post, text)
  return text
}

/** Whether `wrk2PostText(post, …)` already has the post's text (so its author need not be looked up). */
export function hasWrk2PostText(post: Post): boolean {
  return wrk2Texts.has(post)
}
