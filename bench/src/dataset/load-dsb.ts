import { performance } from 'node:perf_hooks'
import { createRandom, type Random } from '../random.js'
import { dsbComposeForm, dsbPassword, dsbUsername } from '../workloads/dsb.js'
import type { SocialGraph } from './graph.js'
import { openSetupClient } from './http.js'
import { mapLimit } from './map-limit.js'

/** Options of the dataset loader. */
export interface LoadOptions {
  /** Requests in flight at once. @default 32 */
  concurrency: number
  seed: number
  /** Each user composes a uniform 0…maxPostsPerUser posts (mean maxPostsPerUser / 2). @default 20 */
  maxPostsPerUser: number
  log: (line: string) => void
}

/** What the loader wrote. */
export interface LoadStats {
  users: number
  follows: number
  posts: number
  seconds: number
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/**
 * Loads a social graph through `/wrk2-api`, as DeathStarBench's init script does: register every user, follow
 * every edge in both directions, then compose each user's posts (so fan-out fills the home timelines).
 *
 * @example
 * const stats = await loadDsbDataset('http://127.0.0.1:8080', graph, { concurrency: 32, seed: 1,
 *   maxPostsPerUser: 20, log: console.error }, signal)
 */
export async function loadDsbDataset(
  baseUrl: string,
  graph: SocialGraph,
  options: LoadOptions,
  signal: AbortSignal,
): Promise<LoadStats> {
  const started = performance.now()
  await using client = openSetupClient(baseUrl, options.concurrency, signal)
  const users = Array.from({ length: graph.users }, (_, id) => id)
  const post = (path: string, form: URLSearchParams, accept: number[] = []) =>
    client.send({ method: 'POST', path, headers: FORM, body: form.toString() }, accept)

  options.log(`registering ${graph.users} users`)
  await mapLimit(
    users,
    options.concurrency,
    async (id) => {
      const form = new URLSearchParams({
        first_name: `first_name_${id}`,
        last_name: `last_name_${id}`,
        username: dsbUsername(id),
        password: dsbPassword(id),
        user_id: String(id),
      })
      await post('/wrk2-api/user/register', form, [409])
    },
    signal,
  )

  const follows = bothDirections(graph)
  options.log(`following ${follows.length} edges (both directions of ${graph.edges.length})`)
  await mapLimit(
    follows,
    options.concurrency,
    async ([follower, followee]) => {
      const form = new URLSearchParams({ user_id: String(follower), followee_id: String(followee) })
      await post('/wrk2-api/user/follow', form, [409])
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
      await post('/wrk2-api/post/compose', dsbComposeForm(random, graph.users, authorId))
    },
    signal,
  )
  return {
    users: graph.users,
    follows: follows.length,
    posts: composes.length,
    seconds: Math.round(performance.now() - started) / 1000,
  }
}

/** Every edge of the graph as two follows, one each way (DeathStarBench's graphs are undirected). */
export function bothDirections(graph: SocialGraph): Array<readonly [number, number]> {
  const follows: Array<readonly [number, number]> = []
  for (const [a, b] of graph.edges) follows.push([a, b], [b, a])
  return follows
}

/** The authors of the posts to compose, in order: each user a uniform 0…maxPostsPerUser times. */
export function composePlan(random: Random, users: number, maxPostsPerUser: number): number[] {
  const composes: number[] = []
  for (let id = 0; id < users; id++) {
    const count = random.int(0, maxPostsPerUser)
    for (let i = 0; i < count; i++) composes.push(id)
  }
  return composes
}
