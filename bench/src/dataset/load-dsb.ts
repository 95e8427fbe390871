import { dsbComposeForm, dsbPassword, dsbUsername } from '../workloads/dsb.js'
import type { SocialGraph } from './graph.js'
import { openSetupClient } from './http.js'
import { type LoadOptions, type LoadStats, loadGraph } from './load-graph.js'

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
  await using client = openSetupClient(baseUrl, options.concurrency, signal)
  const post = async (path: string, form: URLSearchParams, accept: number[] = []) => {
    await client.send({ method: 'POST', path, headers: FORM, body: form.toString() }, accept)
  }
  // `return await`: the client must outlive the load (`await using` closes it when this function returns).
  return await loadGraph(
    graph,
    options,
    {
      surface: 'through /wrk2-api',
      register: (id) =>
        post(
          '/wrk2-api/user/register',
          new URLSearchParams({
            first_name: `first_name_${id}`,
            last_name: `last_name_${id}`,
            username: dsbUsername(id),
            password: dsbPassword(id),
            user_id: String(id),
          }),
          [409],
        ),
      follow: (follower, followee) =>
        post(
          '/wrk2-api/user/follow',
          new URLSearchParams({ user_id: String(follower), followee_id: String(followee) }),
          [409],
        ),
      compose: (authorId, random) =>
        post('/wrk2-api/post/compose', dsbComposeForm(random, graph.users, authorId)),
      readHome: async (id) => {
        await client.send({
          method: 'GET',
          path: `/wrk2-api/home-timeline/read?user_id=${id}&start=0&stop=10`,
        })
      },
    },
    signal,
  )
}
