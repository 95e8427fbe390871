import type { EdgeMessage, PostMessage } from '../services/write-path.js'

/** A message a consumer cannot use: never retried into success, so it ends in the dead-letter stream. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError'
  readonly code = 'E_POISON_MESSAGE'
}

const ID = /^[1-9]\d{0,18}$/

/** Parses and checks a compose message; throws `PoisonMessageError` on anything else. */
export function parsePostMessage(text: string): PostMessage {
  const value = parse(text) as Partial<PostMessage>
  const post = value.post
  if (
    value.v !== 1 ||
    typeof post !== 'object' ||
    post === null ||
    !ID.test(String(post.post_id)) ||
    !ID.test(String(post.author_id)) ||
    !/^\d{1,19}$/.test(String(post.req_id)) ||
    typeof post.text !== 'string' ||
    !Number.isInteger(post.post_type) ||
    !Array.isArray(post.mentions) ||
    !post.mentions.every((m) => typeof m === 'object' && m !== null && ID.test(String(m.user_id))) ||
    !Array.isArray(post.urls) ||
    !Array.isArray(post.media) ||
    !(post.latitude === null || typeof post.latitude === 'number') ||
    !(post.longitude === null || typeof post.longitude === 'number') ||
    Number.isNaN(new Date(post.created_at as unknown as string).getTime())
  ) {
    throw new PoisonMessageError('not a compose message (v1)')
  }
  return value as PostMessage
}

/** Parses and checks a follow-edge message. */
export function parseEdgeMessage(text: string): EdgeMessage {
  const value = parse(text) as Partial<EdgeMessage>
  if (value.v !== 1 || !ID.test(String(value.follower_id)) || !ID.test(String(value.followee_id))) {
    throw new PoisonMessageError('not a follow-edge message (v1)')
  }
  return value as EdgeMessage
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new PoisonMessageError('not JSON')
  }
}
