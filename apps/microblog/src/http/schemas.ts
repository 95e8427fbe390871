/**
 * JSON schemas shared by the routes. Ids travel as decimal strings; numbers never coerce from strings.
 * Id fields are plain strings here: `parseId` checks them in the handler, so a malformed or
 * overflowing id always answers `E_INVALID_ID`.
 */

const idString = { type: 'string', maxLength: 40 } as const
export const usernamePattern = '^[A-Za-z0-9_-]{1,64}$'
/** Text may not hold NUL or other control characters, save tab and newlines. */
export const textPattern = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$'

export const userIdParams = {
  type: 'object',
  required: ['user_id'],
  properties: { user_id: idString },
} as const

export const pageQuery = {
  type: 'object',
  properties: {
    before: idString,
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
} as const

const text = { type: 'string' } as const
const number = { type: 'number' } as const

/** An array of objects with these properties. */
function listOf<P extends Record<string, object>>(properties: P) {
  return { type: 'array', items: { type: 'object', properties } } as const
}

/** A request body: an object whose listed properties are required, the others optional. */
export function body<P extends Record<string, object>>(
  required: readonly (keyof P & string)[],
  properties: P,
) {
  return { type: 'object', required, properties } as const
}

export const userView = {
  type: 'object',
  properties: { user_id: text, username: text, display_name: text, created_at: text },
} as const

export const postView = {
  type: 'object',
  properties: {
    post_id: text,
    author: userView,
    text,
    mentions: listOf({ user_id: text, username: text }),
    urls: listOf({ shortened_url: text, expanded_url: text }),
    media: listOf({ media_id: text, media_type: text }),
    location: { type: ['object', 'null'], properties: { latitude: number, longitude: number } },
    distance_m: number,
    created_at: text,
  },
} as const

export const postPage = {
  type: 'object',
  properties: {
    posts: { type: 'array', items: postView },
    next_before: { type: ['string', 'null'] },
  },
} as const
