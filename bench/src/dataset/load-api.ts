import { BenchError } from '../errors.js'
import type { ApiSession } from '../workloads/api.js'
import { apiPostText } from '../workloads/api-post-text.js'
import { dsbPassword, dsbUsername } from '../workloads/dsb.js'
import { openApiSessions } from './api-sessions.js'
import type { SocialGraph } from './graph.js'
import { openSetupClient } from './http.js'
import { type LoadOptions, type LoadStats, loadGraph } from './load-graph.js'

const JSON_TYPE = { 'content-type': 'application/json' }

/**
 * Loads a social graph through `/api/v1`, for the workloads that sign in: register every user, sign each
 * in, follow every edge in both directions, then compose each user's posts. (Users registered through
 * the unauthenticated `/wrk2-api` cannot sign in to `/api/v1`, so those workloads load their own.)
 *
 * @example
 * const { stats, sessions } = await loadApiDataset('http://127.0.0.1:8080', graph, { concurrency: 32,
 *   seed: 1, maxPostsPerUser: 20, log: console.error }, signal)
 */
export async function loadApiDataset(
  baseUrl: string,
  graph: SocialGraph,
  options: LoadOptions,
  signal: AbortSignal,
): Promise<{ stats: LoadStats; sessions: ApiSession[] }> {
  await using client = openSetupClient(baseUrl, options.concurrency, signal)
  let sessions: ApiSession[] = []
  const session = (index: number): ApiSession => {
    const found = sessions[index]
    if (!found) {
      throw new BenchError('E_BENCH_LOAD', `user ${index} has no /api/v1 session`, { context: { index } })
    }
    return found
  }
  const auth = (index: number) => ({ ...JSON_TYPE, authorization: `Bearer ${session(index).token}` })
  const stats = await loadGraph(
    graph,
    options,
    {
      surface: 'through /api/v1',
      async register(id) {
        const body = JSON.stringify({
          username: dsbUsername(id),
          password: dsbPassword(id),
          display_name: `first_name_${id} last_name_${id}`,
        })
        await client.send({ method: 'POST', path: '/api/v1/users', headers: JSON_TYPE, body }, [409])
      },
      async registered() {
        sessions = await openApiSessions(baseUrl, graph.users, options.concurrency, signal)
      },
      async follow(follower, followee) {
        const path = `/api/v1/users/${session(followee).userId}/follow`
        await client.send({ method: 'POST', path, headers: auth(follower), body: '{}' })
      },
      async compose(authorId, random) {
        const body = JSON.stringify({ text: apiPostText(random, graph.users, authorId) })
        await client.send({ method: 'POST', path: '/api/v1/posts', headers: auth(authorId), body })
      },
      async readHome(id) {
        await client.send({ method: 'GET', path: '/api/v1/timeline?limit=10', headers: auth(id) })
      },
    },
    signal,
  )
  return { stats, sessions }
}
