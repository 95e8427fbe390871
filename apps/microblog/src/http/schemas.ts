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

export const userView = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    username: { type: 'string' },
    display_name: { type: 'string' },
    created_at: { type: 'string' },
  },
} as const

export const postView = {
  type: 'object',
  properties: {
    post_id: { type: 'string' },
    author: userView,
    text: { type: 'string' },
    mentions: {
      type: 'array',
      items: { type: 'object', properties: { user_id: { type: 'string' }, username: { type: 'string' } } },
    },
    urls: {
      type: 'array',
      items: {
        type: 'object',
        properties: { shortened_url: { type: 'string' }, expanded_url: { type: 'string' } },
      },
    },
    media: {
      type: 'array',
      items: { type: 'object', properties: { media_id: { type: 'string' }, media_type: { type: 'string' } } },
    },
    location: {
      type: ['object', 'null'],
      properties: { latitude: { type: 'number' }, longitude: { type: 'number' } },
    },
    distance_m: { type: 'number' },
    created_at: { type: 'string' },
  },
} as const

export const postPage = {
  type: 'object',
  properties: {
    posts: { type: 'array', items: postView },
    next_before: { type: ['string', 'null'] },
  },
} as const
