import type { RequestSpec } from '../../loadgen/request.js'
import type { Random } from '../../random.js'
import type { ApiSession } from '../../workloads/api.js'
import { apiPostText } from '../../workloads/api-post-text.js'

/**
 * `POST /api/v1/posts` by an author drawn uniformly from `authors`, with a post a person would write
 * (1–3 mentions of the `users` users: `apiPostText`) — the compose of `api-mixed`.
 *
 * @example
 * const spec = apiCompose(createRandom(1), sessions, sessions.length)
 */
export function apiCompose(random: Random, authors: readonly ApiSession[], users: number): RequestSpec {
  const author = authors[random.int(0, authors.length - 1)]!
  return {
    endpoint: 'compose',
    method: 'POST',
    path: '/api/v1/posts',
    headers: { authorization: `Bearer ${author.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: apiPostText(random, users, author.index) }),
  }
}
