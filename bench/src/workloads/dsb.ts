import type { RequestSource, RequestSpec } from '../loadgen/request.js'
import { type Random, randomAlphanumeric, randomDecimal } from '../random.js'

/** The form body DeathStarBench's wrk2 scripts send, form-encoded. */
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/** The DeathStarBench socialNetwork username of user `id`. */
export const dsbUsername = (id: number): string => `username_${id}`
/** The DeathStarBench socialNetwork password of user `id` (10+ characters, within the app's 8..128). */
export const dsbPassword = (id: number): string => `password_${id}`

/** A home- or user-timeline read: `user_id` uniform in 0…users-1, `start` uniform in 0…100, `stop = start + 10`. */
export function dsbTimelineRead(kind: 'home' | 'user', random: Random, users: number): RequestSpec {
  const userId = random.int(0, users - 1)
  const start = random.int(0, 100)
  const route = kind === 'home' ? 'home-timeline' : 'user-timeline'
  return {
    endpoint: kind,
    method: 'GET',
    path: `/wrk2-api/${route}/read?user_id=${userId}&start=${start}&stop=${start + 10}`,
    page: true,
  }
}

/**
 * Post text as compose-post.lua builds it: 256 random alphanumerics, then 1–6 mentions `@username_N` of
 * other users, then 1–6 URLs `http://` + 64 random characters.
 */
export function dsbPostText(random: Random, users: number, authorId: number): string {
  let text = randomAlphanumeric(random, 256)
  const mentions = random.int(1, 6)
  for (let i = 0; i < mentions; i++) {
    let mentioned = random.int(0, users - 1)
    while (mentioned === authorId && users > 1) mentioned = random.int(0, users - 1)
    text += ` @${dsbUsername(mentioned)}`
  }
  const urls = random.int(1, 6)
  for (let i = 0; i < urls; i++) text += ` http://${randomAlphanumeric(random, 64)}`
  return text
}

/** A compose-post form, as compose-post.lua sends it: 1–5 media ids of 18 digits of type `png`, `post_type=0`. */
export function dsbComposeForm(random: Random, users: number, authorId: number): URLSearchParams {
  const text = dsbPostText(random, users, authorId)
  const media = random.int(1, 5)
  const ids: string[] = []
  for (let i = 0; i < media; i++) ids.push(randomDecimal(random, 18))
  return new URLSearchParams({
    username: dsbUsername(authorId),
    user_id: String(authorId),
    text,
    media_ids: JSON.stringify(ids),
    media_types: JSON.stringify(ids.map(() => 'png')),
    post_type: '0',
  })
}

/** A compose by a uniformly drawn author. */
export function dsbCompose(random: Random, users: number): RequestSpec {
  const authorId = random.int(0, users - 1)
  return {
    endpoint: 'compose',
    method: 'POST',
    path: '/wrk2-api/post/compose',
    headers: FORM,
    body: dsbComposeForm(random, users, authorId).toString(),
  }
}

/** Shares of each request kind in a mix; they need not sum to 1. */
export interface Mix {
  home: number
  user: number
  compose: number
}

/** DeathStarBench socialNetwork's mixed workload: 60% home-timeline, 30% user-timeline, 10% compose. */
export const DSB_MIX: Readonly<Mix> = Object.freeze({ home: 0.6, user: 0.3, compose: 0.1 })

/** Picks a request kind by weight. */
export function pickKind(random: Random, mix: Mix): keyof Mix {
  const total = mix.home + mix.user + mix.compose
  const u = random.next() * total
  if (u < mix.home) return 'home'
  if (u < mix.home + mix.user) return 'user'
  return 'compose'
}

/**
 * The `/wrk2-api` workload for a mix.
 *
 * @example
 * const source = dsbSource(DSB_MIX, 962)
 * source(createRandom(1)).path // '/wrk2-api/home-timeline/read?user_id=…'
 */
export function dsbSource(mix: Mix, users: number): RequestSource {
  return (random) => {
    const kind = pickKind(random, mix)
    return kind === 'compose' ? dsbCompose(random, users) : dsbTimelineRead(kind, random, users)
  }
}
