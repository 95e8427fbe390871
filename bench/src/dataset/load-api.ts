import { performance } from 'node:perf_hooks'
import { createRandom } from '../random.js'
import type { ApiSession } from '../workloads/api.js'
import { dsbComposeForm, dsbPassword, dsbUsername } from '../workloads/dsb.js'
import { openApiSessions } from './api-sessions.js'
import type { SocialGraph } from './graph.js'
import { openSetupClient } from './http.js'
import { bothDirections, composePlan, type LoadOptions, type LoadStats } from './load-dsb.js'
import { mapLimit } from './map-limit.js'

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
  const started = performance.now()
  await using client = openSetupClient(baseUrl, options.concurrency, signal)
  const users = Array.from({ length: graph.users }, (_, id) => id)

  options.log(`registering ${graph.users} users through /api/v1`)
  await mapLimit(
    users,
    options.concurrency,
    async (id) => {
      const body = JSON.stringify({
        username: dsbUsername(id),
        password: dsbPassword(id),
        display_name: `first_name_${id} last_name_${id}`,
      })
      await client.send({ method: 'POST', path: '/api/v1/users', headers: JSON_TYPE, body }, [409])
    },
    signal,
  )
  const sessions = await openApiSessions(baseUrl, graph.users, options.concurrency, signal)
  const auth = (index: number) => ({ ...JSON_TYPE, authorization: `Bearer ${sessions[index]!.token}` })

  const follows = bothDirections(graph)
  options.log(`following ${follows.length} edges (both directions of ${graph.edges.length})`)
  await mapLimit(
    follows,
    options.concurrency,
    async ([follower, followee]) => {
      const path = `/api/v1/users/${sessions[followee]!.userId}/follow`
      await client.send({ method: 'POST', path, headers: auth(follower), body: '{}' })
    },
    signal,
  )

  const random = createRandom(options.seed)
  const composes = composePlan(random, graph.users, options.maxPostsPerUser)
  options.log(`composing ${composes.length} posts`)
  await mapLimit(
    composes,
    options.concurrency,
    async (authorId) => {
      const text = dsbComposeForm(random, graph.users, authorId).get('text') ?? 'post'
      const body = JSON.stringify({ text })
      await client.send({ method: 'POST', path: '/api/v1/posts', headers: auth(authorId), body })
    },
    signal,
  )
  return {
    stats: {
      users: graph.users,
      follows: follows.length,
      posts: composes.length,
      seconds: Math.round(performance.now() - started) / 1000,
    },
    sessions,
  }
}
