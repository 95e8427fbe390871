import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GuardError } from '../errors.js'
import {
  type Outcome,
  type SlidingWindowState,
  type TokenBucketState,
  takeSlidingWindow,
  takeTokenBucket,
} from '../rate-limit/algorithms.js'
import type {
  RateLimitAlgorithm,
  RateLimitResult,
  RateLimitRule,
  RateLimitStore,
} from '../rate-limit/store.js'
import { fakeClock } from './fake-clock.js'

/** What a contract run needs over one backend: stores reading a given clock, and a cleanup run at the end. */
export interface RateLimitStoreFixture {
  /** A store on the backend that reads time (unix ms) from `now`, so the suite can move it. The suite closes it. */
  store(now: () => number): RateLimitStore
  /** Runs once after the suite (delete the keys, close admin connections). */
  cleanup(): Promise<void>
}

/** Options of {@link registerRateLimitContract}. */
export interface RateLimitContractOptions {
  /** Random take sequences compared with the reference arithmetic, per algorithm. @default 30 */
  randomRuns?: number
}

const rule = (
  algorithm: RateLimitAlgorithm,
  limit: number,
  windowMs: number,
  burst = limit,
): RateLimitRule => ({
  algorithm,
  limit,
  windowMs,
  burst: algorithm === 'token-bucket' ? burst : limit,
})

let unique = 0
const key = (name: string) => `${name}:${process.pid}:${++unique}`

/**
 * The contract every rate-limit store passes, written once and run against each backend (the in-process
 * `memoryStore` and the Redis store here; your own store too): quotas and refusals, exact `retryAfterMs`,
 * refill and window weighting, atomic concurrent takes, aborts, and agreement with the reference
 * arithmetic over random take sequences. Call it at the top level of a vitest file.
 *
 * @example
 * registerRateLimitContract('redis', async () => ({
 *   store: (now) => redisStore({ connection: url, prefix, now }),
 *   cleanup: async () => deleteKeys(prefix),
 * }))
 */
export function registerRateLimitContract(
  name: string,
  open: () => Promise<RateLimitStoreFixture>,
  options: RateLimitContractOptions = {},
): void {
  const { randomRuns = 30 } = options
  describe(`rate-limit store contract: ${name}`, () => {
    const clock = fakeClock(1_700_000_000_000)
    let fixture: RateLimitStoreFixture
    let store: RateLimitStore
    const take = (k: string, r: RateLimitRule, cost = 1, signal?: AbortSignal) =>
      store.take({ key: k, rule: r, cost }, signal)
    beforeAll(async () => {
      fixture = await open()
      store = fixture.store(clock.now)
    })
    afterAll(async () => {
      await store?.close()
      await fixture?.cleanup()
    })

    for (const algorithm of ['token-bucket', 'sliding-window'] as const) {
      describe(algorithm, () => {
        it('grants a fresh key its whole quota, counting down, then refuses', async () => {
          const k = key('quota')
          const r = rule(algorithm, 5, 60_000)
          for (let left = 4; left >= 0; left--) {
            expect(await take(k, r)).toMatchObject({
              allowed: true,
              limit: 5,
              remaining: left,
              retryAfterMs: 0,
            })
          }
          const refused = await take(k, r)
          expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 })
          expect(refused.retryAfterMs).toBeGreaterThan(0)
        })

        it('consumes nothing on a refusal, and grants the take exactly retryAfterMs later', async () => {
          const k = key('retry')
          const r = rule(algorithm, 4, 10_000)
          for (let i = 0; i < 4; i++) await take(k, r)
          const { retryAfterMs } = await take(k, r)
          clock.advance(retryAfterMs - 1)
          expect((await take(k, r)).allowed).toBe(false)
          clock.advance(1)
          expect((await take(k, r)).allowed).toBe(true)
          expect((await take(k, r)).allowed).toBe(false)
        })

        it('takes a cost of several units at once, or none of them', async () => {
          const k = key('cost')
          const r = rule(algorithm, 5, 60_000)
          expect(await take(k, r, 3)).toMatchObject({ allowed: true, remaining: 2 })
          expect(await take(k, r, 3)).toMatchObject({ allowed: false, remaining: 2 })
          expect(await take(k, r, 2)).toMatchObject({ allowed: true, remaining: 0 })
        })

        it('keeps keys apart', async () => {
          const a = key('a')
          const b = key('b')
          const r = rule(algorithm, 2, 60_000)
          await take(a, r)
          await take(a, r)
          expect((await take(a, r)).allowed).toBe(false)
          expect(await take(b, r)).toMatchObject({ allowed: true, remaining: 1 })
        })

        it('answers concurrent takes atomically: never more than the limit', async () => {
          const k = key('concurrent')
          const r = rule(algorithm, 10, 60_000)
          const results = await Promise.all(Array.from({ length: 30 }, () => take(k, r)))
          expect(results.filter((x) => x.allowed)).toHaveLength(10)
        })

        it('rejects a take whose signal has fired with E_ABORTED, taking nothing', async () => {
          const k = key('aborted')
          const r = rule(algorithm, 3, 60_000)
          const controller = new AbortController()
          controller.abort(new Error('client gone'))
          await expect(take(k, r, 1, controller.signal)).rejects.toMatchObject({ code: 'E_ABORTED' })
          await expect(take(k, r, 1, controller.signal)).rejects.toBeInstanceOf(GuardError)
          expect(await take(k, r)).toMatchObject({ allowed: true, remaining: 2 })
        })

        it('agrees with the reference arithmetic over random take sequences', async () => {
          const random = mulberry32(0x5eed ^ algorithm.length)
          for (let run = 0; run < randomRuns; run++) {
            const k = key('random')
            const windowMs = [1_000, 7, 60_000, 3_600_000][Math.floor(random() * 4)]!
            const limit = 1 + Math.floor(random() * 20)
            const r = rule(algorithm, limit, windowMs, limit + Math.floor(random() * 10))
            let state: unknown
            for (let step = 0; step < 25; step++) {
              clock.advance(Math.floor(random() * random() * 2 * windowMs))
              const cost = 1 + Math.floor(random() * Math.min(r.burst, 4))
              const expected = reference(state, clock.now(), r, cost)
              state = expected.state
              const actual: RateLimitResult = await take(k, r, cost)
              expect({ run, step, ...actual }).toEqual({ run, step, ...expected.result })
            }
          }
        })
      })
    }

    it('token bucket: refills limit per window, up to burst', async () => {
      const k = key('refill')
      const r = rule('token-bucket', 10, 1_000, 20)
      expect(await take(k, r, 20)).toMatchObject({ allowed: true, remaining: 0, resetMs: 2_000 })
      clock.advance(500)
      expect(await take(k, r, 5)).toMatchObject({ allowed: true, remaining: 0 })
      expect((await take(k, r)).allowed).toBe(false)
      clock.advance(60_000)
      expect(await take(k, r)).toMatchObject({ allowed: true, remaining: 19, resetMs: 100 })
    })

    it('sliding window: weighs the previous window by how much of it the sliding window still covers', async () => {
      const k = key('weight')
      const r = rule('sliding-window', 10, 10_000)
      clock.set(Math.ceil(clock.now() / 10_000) * 10_000) // the start of a fixed window
      expect(await take(k, r, 10)).toMatchObject({ allowed: true, remaining: 0 })
      clock.advance(10_000) // next window: the previous one still counts in full
      expect((await take(k, r)).allowed).toBe(false)
      clock.advance(5_000) // half-way: it counts half
      expect(await take(k, r, 5)).toMatchObject({ allowed: true, remaining: 0 })
      expect((await take(k, r)).allowed).toBe(false)
    })
  })
}

/** What the store should answer, by the same arithmetic in TypeScript (the Redis scripts repeat it in Lua). */
function reference(state: unknown, now: number, r: RateLimitRule, cost: number): Outcome<unknown> {
  return r.algorithm === 'token-bucket'
    ? takeTokenBucket(state as TokenBucketState | undefined, now, r, cost)
    : takeSlidingWindow(state as SlidingWindowState | undefined, now, r, cost)
}

/** A small seeded PRNG, so a failing sequence is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
