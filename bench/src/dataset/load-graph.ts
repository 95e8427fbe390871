import { performance } from 'node:perf_hooks'
import { createRandom, type Random } from '../random.js'
import type { SocialGraph } from './graph.js'
import { mapLimit } from './map-limit.js'

/** Options of the dataset loader. */
export interface LoadOptions {
  /** Requests in flight at once. @default 32 */
  concurrency: number
  seed: number
  /** Each user composes a uniform 0…maxPostsPerUser posts (mean maxPostsPerUser / 2). @default 20 */
  maxPostsPerUser: number
  log: (line: string) => void
  /**
   * Waits for writes the server accepted but applies later (a queued write path): called after the
   * follows, so every post fans out to all its followers, and after the posts. @default none
   */
  settle?: (signal: AbortSignal) => Promise<void>
}

/** What the loader wrote. */
export interface LoadStats {
  users: number
  follows: number
  posts: number
  seconds: number
}

/** The three writes of a load through one API surface (`/wrk2-api` or `/api/v1`). */
export interface GraphWriter {
  /** Named in the log line of the first phase, e.g. `through /api/v1`. */
  surface: string
  register(id: number): Promise<void>
  /** Runs once every user is registered, before the first follow (e.g. sign each one in). */
  registered?(): Promise<void>
  follow(follower: number, followee: number): Promise<void>
  compose(authorId: number, random: Random): Promise<void>
  /** Reads user `id`'s home timeline once, so the measurement starts from it warm. */
  readHome?(id: number): Promise<void>
}

/**
 * Home-timeline reads in flight while warming: a process rebuilds this many cold timelines at once and
 * serves the other cold readers by query (leaving them cold), so more would not warm faster.
 */
export const WARM_CONCURRENCY = 4

/**
 * Loads a social graph as DeathStarBench's init script does, through `writer`: register every user,
 * follow every edge in both directions, then compose each user's posts (so fan-out fills the home
 * timelines); then, when the writer can, read every home timeline once. The posts' authors and texts come from `options.seed`, whichever the surface.
 *
 * @example
 * const stats = await loadGraph(graph, { concurrency: 32, seed: 1, maxPostsPerUser: 20, log }, writer, signal)
 */
export async function loadGraph(
  graph: SocialGraph,
  options: LoadOptions,
  writer: GraphWriter,
  signal: AbortSignal,
): Promise<LoadStats> {
  const started = performance.now()
  const users = Array.from({ length: graph.users }, (_, id) => id)
  options.log(`registering ${graph.users} users ${writer.surface}`)
  await mapLimit(users, options.concurrency, (id) => writer.register(id), signal)
  await writer.registered?.()

  const follows = bothDirections(graph)
  options.log(`following ${follows.length} edges (both directions of ${graph.edges.length})`)
  await mapLimit(follows, options.concurrency, ([a, b]) => writer.follow(a, b), signal)
  await options.settle?.(signal)

  const random = createRandom(options.seed)
  const composes = composePlan(random, graph.users, options.maxPostsPerUser)
  options.log(`composing ${composes.length} posts`)
  await mapLimit(composes, options.concurrency, (authorId) => writer.compose(authorId, random), signal)
  await options.settle?.(signal)
  // The follows dropped every home timeline: read each once, as its user would, so the first steps of
  // the measurement do not pay the load's rebuilds (a steady-state timeline lives a day).
  const readHome = writer.readHome?.bind(writer)
  if (readHome) {
    options.log(`reading ${graph.users} home timelines once`)
    await mapLimit(users, WARM_CONCURRENCY, (id) => readHome(id), signal)
  }
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
