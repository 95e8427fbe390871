import type { RequestSource, RequestSpec } from '../loadgen/request.js'
import type { Random } from '../random.js'
import { apiPostText } from './api-post-text.js'
import { type Mix, pickKind } from './dsb.js'

/** A logged-in user of the `/api/v1` surface. */
export interface ApiSession {
  /** Index in the social graph (0…961). */
  index: number
  /** The server's user id (a decimal string). */
  userId: string
  token: string
}

/** Page size of `/api/v1` timeline reads: the same 10 posts as DeathStarBench's `stop - start`. */
export const API_PAGE = 10

/**
 * The same 60/30/10 mix through `/api/v1` with bearer tokens. The API pages by keyset (`before`), not by
 * offset, so reads ask for the newest page of 10.
 *
 * @example
 * const source = apiSource(DSB_MIX, sessions)
 */
export function apiSource(mix: Mix, sessions: readonly ApiSession[]): RequestSource {
  const users = sessions.length
  const pick = (random: Random): ApiSession => sessions[random.int(0, users - 1)]!
  return (random): RequestSpec => {
    const kind = pickKind(random, mix)
    const session = pick(random)
    const auth = { authorization: `Bearer ${session.token}` }
    if (kind === 'home') {
      return {
        endpoint: 'home',
        method: 'GET',
        path: `/api/v1/timeline?limit=${API_PAGE}`,
        headers: auth,
        page: true,
      }
    }
    if (kind === 'user') {
      const author = pick(random)
      return {
        endpoint: 'user',
        method: 'GET',
        path: `/api/v1/users/${author.userId}/posts?limit=${API_PAGE}`,
        headers: auth,
        page: true,
      }
    }
    return {
      endpoint: 'compose',
      method: 'POST',
      path: '/api/v1/posts',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ text: apiPostText(random, users, session.index) }),
    }
  }
}
