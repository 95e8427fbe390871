import { setTimeout as sleep } from 'node:timers/promises'
import { client, signUp } from '../support.js'
import type { Author } from './compose-load.js'
import type { Deployment } from './deployment.js'

/** Users and who follows whom, as the test made them. */
export interface SocialGraph {
  users: Author[]
  /** follower id → the ids they follow. */
  followees: Map<string, Set<string>>
  edges: number
}

/**
 * Registers `users` users through the API, has each follow each other with probability
 * `followProbability`, waits until the edges consumer has written every edge's second half (the
 * followers counters match and its backlog is 0), then warms every home timeline with one read — only
 * warm timelines receive fan-out — and checks that each is warm.
 */
export async function buildSocialGraph(
  deployment: Deployment,
  options: { users: number; followProbability: number; random: () => number },
): Promise<SocialGraph> {
  const api = client(deployment.apiUrl)
  const suffix = deployment.namespace.slice(-6)
  const users: Author[] = []
  for (let i = 0; i < options.users; i += 8) {
    const batch = Array.from({ length: Math.min(8, options.users - i) }, (_, j) =>
      signUp(api, `chaos${i + j}_${suffix}`),
    )
    users.push(...(await Promise.all(batch)))
  }
  const followees = new Map(users.map((u) => [u.id, new Set<string>()]))
  const follows: Array<[Author, Author]> = []
  for (const follower of users) {
    for (const followee of users) {
      if (follower !== followee && options.random() < options.followProbability) {
        follows.push([follower, followee])
        followees.get(follower.id)!.add(followee.id)
      }
    }
  }
  for (let i = 0; i < follows.length; i += 16) {
    await Promise.all(
      follows.slice(i, i + 16).map(async ([follower, followee]) => {
        const res = await api.post(`/api/v1/users/${followee.id}/follow`, undefined, follower.token)
        if (res.status !== 200) throw new Error(`follow: ${res.status} ${res.text}`)
      }),
    )
  }

  const expectedFollowers = new Map(users.map((u) => [u.id, 0]))
  for (const [, followee] of follows)
    expectedFollowers.set(followee.id, expectedFollowers.get(followee.id)! + 1)
  await until('the follow edges settle', 60_000, async () => {
    const { rows } = await deployment.sql.query<{ user_id: string; followers: string }>(
      'SELECT user_id::text, followers FROM user_counters',
    )
    const settled = rows.every((r) => Number(r.followers) === expectedFollowers.get(r.user_id))
    // The consumer drops the follower's timeline after writing the edge: wait for it to finish too.
    return settled && rows.length === users.length && (await deployment.backlog()).edges === 0
  })

  await until('every home timeline is warm', 30_000, async () => {
    const cold: Author[] = []
    for (const user of users) {
      if ((await deployment.redis.zscore(deployment.homeKey(user.id), '$')) === null) cold.push(user)
    }
    for (const user of cold) {
      const res = await api.get('/api/v1/timeline', user.token)
      if (res.status !== 200) throw new Error(`timeline: ${res.status} ${res.text}`)
    }
    return cold.length === 0
  })
  return { users, followees, edges: follows.length }
}

/** Polls `done` every 200 ms until it returns true; throws after `timeoutMs`, naming `what`. */
export async function until(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await sleep(200)
  }
}
