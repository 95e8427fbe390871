import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blogPerSuite, type Client, signUp } from './support.js'

// Oracle equivalence: random sequences of the microblog's operations, sent to the microblog on one
// PostgreSQL database and on 4 databases × 4 tables over two PostgreSQL servers, must get the same
// answers. Ids differ between the two (each has its own Snowflake ids), so answers are compared with
// every user and post id replaced by its place in the sequence.

const USERS = 4
const POINTS = [
  { lat: 48.8566, lon: 2.3522 },
  { lat: 48.8666, lon: 2.3522 },
  { lat: 48.857, lon: 2.36 },
] as const

type Op =
  | { op: 'follow' | 'unfollow'; a: number; b: number }
  | { op: 'compose'; a: number; mention: number | null; point: number | null; words: string }
  | { op: 'user' | 'home'; a: number; limit: number; pages: number }
  | { op: 'profile'; a: number }
  | { op: 'nearby'; point: number; radius: number; limit: number }

const user = fc.integer({ min: 0, max: USERS - 1 })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('follow', 'unfollow'), a: user, b: user }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('compose'),
      a: user,
      mention: fc.option(user, { nil: null }),
      point: fc.option(fc.integer({ min: 0, max: POINTS.length - 1 }), { nil: null }),
      words: fc.stringMatching(/^[a-z]{1,8}( [a-z]{1,8}){0,3}$/),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('user', 'home'),
      a: user,
      limit: fc.integer({ min: 1, max: 4 }),
      pages: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('profile'), a: user }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('nearby'),
      point: fc.integer({ min: 0, max: POINTS.length - 1 }),
      radius: fc.constantFrom(500, 1500, 5000),
      limit: fc.integer({ min: 1, max: 5 }),
    }),
  },
)

/** One system under the sequence: its users, and its ids → places in the sequence. */
interface Side {
  api: Client
  users: Array<{ id: string; token: string; name: string }>
  names: Map<string, string>
}

let runs = 0

describe('sharded layout against one database (oracle)', () => {
  // Dozens of registrations from one address: the limit is tested in guard.test.ts.
  const env = { HF_REGISTER_LIMIT_IP: 'off', HF_LOGIN_LIMIT_IP: 'off', HF_LOGIN_LIMIT_USER: 'off' }
  const single = blogPerSuite('postgres', env)
  const sharded = blogPerSuite('sharded', env)

  it('answers every random sequence of operations as one database does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        const run = runs++
        const sides = await Promise.all([single.api, sharded.api].map((api) => sideOf(api, run)))
        for (const [i, step] of ops.entries()) {
          const [expected, actual] = await Promise.all(sides.map((side) => perform(side, step, run, i)))
          expect(actual, `step ${i}: ${JSON.stringify(step)}`).toEqual(expected)
        }
      }),
      { numRuns: 20, endOnFailure: true },
    )
  }, 240_000)
})

async function sideOf(api: Client, run: number): Promise<Side> {
  const users = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const name = `o${run}_${i}`
      return { ...(await signUp(api, name)), name }
    }),
  )
  const names = new Map(users.map((u, i) => [u.id, `u${i}`]))
  return { api, users, names }
}

/** Sends one operation; its answer with ids replaced by their places (`u2`, `p5`). */
async function perform(side: Side, step: Op, run: number, index: number): Promise<unknown> {
  const { api, users } = side
  switch (step.op) {
    case 'follow':
    case 'unfollow': {
      const path = `/api/v1/users/${users[step.b]!.id}/follow`
      const token = users[step.a]!.token
      const res = step.op === 'follow' ? await api.post(path, undefined, token) : await api.del(path, token)
      return { status: res.status, body: normalize(side, res.body) }
    }
    case 'compose': {
      const mention = step.mention === null ? '' : ` @${users[step.mention]!.name}`
      const point =
        step.point === null ? {} : { latitude: POINTS[step.point]!.lat, longitude: POINTS[step.point]!.lon }
      const text = `${step.words}${mention} #${run}.${index}`
      const res = await api.post('/api/v1/posts', { text, ...point }, users[step.a]!.token)
      if (res.status === 201) side.names.set(res.body.post_id, `p${index}`)
      return { status: res.status, body: normalize(side, res.body) }
    }
    case 'user':
    case 'home': {
      const pages: unknown[] = []
      let before: string | null = null
      for (let page = 0; page < step.pages; page++) {
        const query: string = `?limit=${step.limit}${before ? `&before=${before}` : ''}`
        const res: { status: number; body: any } =
          step.op === 'user'
            ? await api.get(`/api/v1/users/${users[step.a]!.id}/posts${query}`)
            : await api.get(`/api/v1/timeline${query}`, users[step.a]!.token)
        pages.push({ status: res.status, body: normalize(side, res.body) })
        before = res.body?.next_before ?? null
        if (before === null) break
      }
      return pages
    }
    case 'profile': {
      const res = await api.get(`/api/v1/users/${users[step.a]!.id}`)
      return { status: res.status, body: normalize(side, res.body) }
    }
    case 'nearby': {
      const { lat, lon } = POINTS[step.point]!
      const res = await api.get(
        `/api/v1/posts/nearby?lat=${lat}&lon=${lon}&radius_m=${step.radius}&limit=${step.limit}`,
      )
      // Only this run's posts: earlier runs' posts are near the same points.
      const mine = (res.body.posts as Array<{ post_id: string; distance_m: number }>).filter((p) =>
        side.names.has(p.post_id),
      )
      return {
        status: res.status,
        posts: normalize(
          side,
          mine.map((p) => ({ ...p, distance_m: Math.round(p.distance_m) })),
        ),
      }
    }
  }
}

/** The answer with each known id replaced by its place; times and problem instances (paths with ids) dropped. */
function normalize(side: Side, value: unknown): unknown {
  if (typeof value === 'string') return side.names.get(value) ?? value
  if (Array.isArray(value)) return value.map((v) => normalize(side, v))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'created_at' && key !== 'instance')
        .map(([key, v]) => [key, normalize(side, v)]),
    )
  }
  return value
}
