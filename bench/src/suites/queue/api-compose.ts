import type { RequestSpec } from '../../loadgen/request.js'
import type { Random } from '../../random.js'
import type { ApiSession } from '../../workloads/api.js'
import { dsbPostText } from '../../workloads/dsb.js'

/**
 * `POST /api/v1/posts` by an author drawn uniformly from `authors`, with DeathStarBench's post text
 * (256 characters, 1–6 mentions of the `users` users, 1–6 URLs) — the compose of `api-mixed`.
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
    body: JSON.stringify({ text: dsbPostText(random, users, author.index) }),
  }
}
