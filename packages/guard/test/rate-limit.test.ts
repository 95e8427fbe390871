import * as diagnostics from 'node:diagnostics_channel'
import { Registry } from '@hundredfold/metrics'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GUARD_CHANNELS } from '../src/observe/index.js'
import {
  memoryStore,
  type RateLimitResult,
  rateLimit,
  rateLimiter,
  rateLimitHeaders,
  retryAfterSeconds,
  slidingWindow,
  tokenBucket,
} from '../src/rate-limit/index.js'
import { fakeClock } from '../src/testing/index.js'

// Oracles written apart from the implementation: the token bucket as GCRA (a "theoretical arrival time",
// in BigInt), the sliding window from a log of every granted take; retryAfterMs and resetMs by searching
// forward ms by ms. Windows are small so the search is cheap.

class GcraOracle {
  // TAT × limit: when the bucket is full again, in ms × limit.
  #tat = 0n
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly burst: number,
  ) {}

  #owed(t: number): bigint {
    const owed = this.#tat - BigInt(t) * BigInt(this.limit)
    return owed > 0n ? owed : 0n
  }

  #fits(t: number, cost: number): boolean {
    return this.#owed(t) <= BigInt((this.burst - cost) * this.windowMs)
  }

  take(t: number, cost: number): RateLimitResult {
    const allowed = this.#fits(t, cost)
    if (allowed) {
      const base = BigInt(t) * BigInt(this.limit)
      this.#tat = (this.#tat > base ? this.#tat : base) + BigInt(cost * this.windowMs)
    }
    const left = BigInt(this.burst * this.windowMs) - this.#owed(t)
    let retryAfterMs = 0
    if (!allowed) while (!this.#fits(t + retryAfterMs, cost)) retryAfterMs++
    let resetMs = 0
    while (this.#owed(t + resetMs) > 0n) resetMs++
    return {
      allowed,
      limit: this.burst,
      remaining: Number(left / BigInt(this.windowMs)),
      resetMs,
      retryAfterMs,
    }
  }
}

class LogOracle {
  readonly #log: { at: number; cost: number }[] = []
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** The weighted count × windowMs at time t, plus `extra` in the current window. */
  #used(t: number, extra = 0): number {
    const w = this.windowMs
    const index = Math.floor(t / w)
    let current = extra
    let previous = 0
    for (const { at, cost } of this.#log) {
      if (Math.floor(at / w) === index) current += cost
      else if (Math.floor(at / w) === index - 1) previous += cost
    }
    return previous * (w - (t - index * w)) + current * w
  }

  take(t: number, cost: number): RateLimitResult {
    const w = this.windowMs
    const fits = (at: number) => this.#used(at, cost) <= this.limit * w
    const allowed = fits(t)
    if (allowed) this.#log.push({ at: t, cost })
    let retryAfterMs = 0
    if (!allowed) while (!fits(t + retryAfterMs)) retryAfterMs++
    let resetMs = 0
    while (this.#used(t + resetMs) > 0) resetMs++
    const remaining = Math.max(0, Math.floor((this.limit * w - this.#used(t)) / w))
    return { allowed, limit: this.limit, remaining, resetMs, retryAfterMs }
  }
}

/** A limiter whose clock stands still, so refills between takes cannot move the figures. */
const frozen = (options: Parameters<typeof rateLimiter>[0]) =>
  rateLimiter({ ...options, store: memoryStore({ now: () => 1_700_000_000_000 }) })

const steps = (maxCost: number, windowMs: number) =>
  fc.array(
    fc.record({
      advance: fc.integer({ min: 0, max: 3 * windowMs }),
      cost: fc.integer({ min: 1, max: maxCost }),
    }),
    {
      minLength: 5,
      maxLength: 60,
    },
  )

describe('token bucket', () => {
  it('answers as the GCRA oracle does, over random takes and waits', async () => {
    const scenario = fc
      .record({
        limit: fc.integer({ min: 1, max: 8 }),
        windowMs: fc.integer({ min: 1, max: 40 }),
        extra: fc.integer({ min: 0, max: 6 }),
        start: fc.integer({ min: 0, max: 1e6 }),
      })
      .chain((p) => steps(p.limit + p.extra, p.windowMs).map((sequence) => ({ ...p, sequence })))
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limit, windowMs, extra, start, sequence }) => {
        const burst = limit + extra
        const clock = fakeClock(start)
        const limiter = tokenBucket({ limit, windowMs, burst, store: memoryStore({ now: clock.now }) })
        const oracle = new GcraOracle(limit, windowMs, burst)
        for (const { advance, cost } of sequence) {
          clock.advance(advance)
          expect(await limiter.take('k', { cost })).toEqual(oracle.take(clock.now(), cost))
        }
      }),
      { numRuns: 200 },
    )
  })

  it('never grants more than burst + limit × elapsed / window over any stretch', () => {
    const clock = fakeClock(0)
    const limiter = tokenBucket({
      limit: 10,
      windowMs: 1_000,
      burst: 20,
      store: memoryStore({ now: clock.now }),
    })
    return fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 50, maxLength: 200 }),
        async (gaps) => {
          const key = `k${clock.now()}`
          const start = clock.now()
          let granted = 0
          for (const gap of gaps) {
            clock.advance(gap)
            if ((await limiter.take(key)).allowed) granted++
            expect(granted).toBeLessThanOrEqual(20 + Math.floor(((clock.now() - start) * 10) / 1_000))
          }
        },
      ),
    )
  })
})

describe('sliding window (counter)', () => {
  it('answers as the oracle over a log of every granted take does', async () => {
    const scenario = fc
      .record({
        limit: fc.integer({ min: 1, max: 10 }),
        windowMs: fc.integer({ min: 1, max: 40 }),
        start: fc.integer({ min: 0, max: 1e6 }),
      })
      .chain((p) => steps(p.limit, p.windowMs).map((sequence) => ({ ...p, sequence })))
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limit, windowMs, start, sequence }) => {
        const clock = fakeClock(start)
        const limiter = slidingWindow({ limit, windowMs, store: memoryStore({ now: clock.now }) })
        const oracle = new LogOracle(limit, windowMs)
        for (const { advance, cost } of sequence) {
          clock.advance(advance)
          expect(await limiter.take('k', { cost })).toEqual(oracle.take(clock.now(), cost))
        }
      }),
      { numRuns: 200 },
    )
  })
})

describe('rateLimiter()', () => {
  it('keeps the state of at most maxKeys keys in process, forgetting the least recently used', async () => {
    const clock = fakeClock(0)
    const store = memoryStore({ maxKeys: 3, now: clock.now })
    const limiter = rateLimiter({ limit: 1, windowMs: 60_000, store })
    for (const key of ['a', 'b', 'c']) await limiter.take(key)
    await limiter.take('a') // a is the most recent now
    await limiter.take('d') // b goes
    expect(store.size).toBe(3)
    expect((await limiter.take('a')).allowed).toBe(false)
    expect((await limiter.take('b')).allowed).toBe(true) // forgotten, so whole again
  })

  it('keeps limiters sharing one store apart by name', async () => {
    const store = memoryStore()
    const a = rateLimiter({ name: 'a', limit: 1, windowMs: 60_000, store })
    const b = rateLimiter({ name: 'b', limit: 1, windowMs: 60_000, store })
    expect((await a.take('user:1')).allowed).toBe(true)
    expect((await b.take('user:1')).allowed).toBe(true)
  })

  it('refuses a cost it could never grant, naming the option', async () => {
    const limiter = rateLimiter({ limit: 5 })
    await expect(limiter.take('k', { cost: 6 })).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.cost',
    })
    await expect(limiter.take('k', { cost: 0 })).rejects.toMatchObject({ option: 'options.cost' })
  })

  it('validates its options eagerly, naming the bad one', () => {
    const option = (o: Parameters<typeof rateLimiter>[0]) => {
      try {
        rateLimiter(o)
      } catch (err) {
        return (err as { option?: string }).option
      }
      return undefined
    }
    expect(option({ limit: 0 })).toBe('options.limit')
    expect(option({ limit: 1.5 })).toBe('options.limit')
    expect(option({ limit: 10, windowMs: 0 })).toBe('options.windowMs')
    expect(option({ limit: 10, algorithm: 'sliding-window', burst: 20 })).toBe('options.burst')
    expect(option({ limit: 10, algorithm: 'leaky' as never })).toBe('options.algorithm')
    expect(option({ limit: 1e9, windowMs: 1e9 })).toBe('options.windowMs')
    expect(option({ limit: 10, hot: { keys: { x: 0 } } })).toBe('options.hot.keys["x"]')
    expect(option({ limit: 10, hot: { threshold: 5 } })).toBe('options.hot.limit')
    expect(option({ limit: 10, hot: { threshold: 50, limit: 1 } })).toBe('options.hot.threshold')
    expect(option({ limit: 10, hot: { limit: 1 } })).toBe('options.hot.limit')
  })

  it('publishes refusals and counts them on the registry', async () => {
    const registry = new Registry()
    const events: unknown[] = []
    const listener = (e: unknown) => events.push(e)
    diagnostics.subscribe(GUARD_CHANNELS.rateLimited, listener)
    try {
      const clock = fakeClock(0)
      const store = memoryStore({ now: clock.now })
      const limiter = rateLimiter({ name: 'login', limit: 1, windowMs: 60_000, registry, store })
      await limiter.take('ip:1')
      await limiter.take('ip:1')
    } finally {
      diagnostics.unsubscribe(GUARD_CHANNELS.rateLimited, listener)
    }
    expect(events).toEqual([
      { policy: 'login', key: 'ip:1', limit: 1, remaining: 0, retryAfterMs: 60_000, hot: false },
    ])
    expect(registry.metrics()).toContain(
      'hundredfold_guard_rejections_total{policy="login",reason="E_RATE_LIMITED"} 1',
    )
  })
})

describe('hot keys', () => {
  it('gives named hot keys their own limit, leaving the others alone', async () => {
    const limiter = frozen({ limit: 100, windowMs: 60_000, hot: { keys: { 'user:42': 2 } } })
    expect(await limiter.take('user:42')).toMatchObject({ allowed: true, limit: 2, remaining: 1 })
    await limiter.take('user:42')
    expect((await limiter.take('user:42')).allowed).toBe(false)
    expect(await limiter.take('user:7')).toMatchObject({ allowed: true, limit: 100, remaining: 99 })
  })

  it('finds hot keys automatically: past the threshold a key gets the strict limit for holdMs', async () => {
    const clock = fakeClock(0)
    const events: { hot: boolean }[] = []
    const listener = (e: unknown) => events.push(e as { hot: boolean })
    const limiter = rateLimiter({
      algorithm: 'sliding-window',
      limit: 100,
      windowMs: 1_000,
      hot: { threshold: 10, limit: 3, holdMs: 5_000 },
      store: memoryStore({ now: clock.now }),
      now: clock.now,
    })
    for (let i = 0; i < 10; i++) expect((await limiter.take('tenant:noisy')).allowed).toBe(true)
    expect(limiter.hotKeys()).toEqual(['tenant:noisy'])
    diagnostics.subscribe(GUARD_CHANNELS.rateLimited, listener)
    try {
      const strict = await Promise.all(Array.from({ length: 5 }, () => limiter.take('tenant:noisy')))
      expect(strict.map((r) => r.allowed)).toEqual([true, true, true, false, false])
      expect(strict[0]).toMatchObject({ limit: 3 })
    } finally {
      diagnostics.unsubscribe(GUARD_CHANNELS.rateLimited, listener)
    }
    expect(events.every((e) => e.hot)).toBe(true)
    expect((await limiter.take('tenant:quiet')).limit).toBe(100)
    clock.advance(5_000)
    expect(limiter.hotKeys()).toEqual([])
    expect(await limiter.take('tenant:noisy')).toMatchObject({ allowed: true, limit: 100 })
  })
})

describe('rateLimit() policy', () => {
  it('runs the call when granted and rejects with E_RATE_LIMITED (never calling it) when refused', async () => {
    const limiter = frozen({ name: 'search', limit: 1, windowMs: 10_000 })
    let tenant = 'acme'
    const policy = rateLimit(limiter, () => `tenant:${tenant}`)
    expect(await policy.execute(async () => 'ran')).toBe('ran')
    let called = false
    await expect(
      policy.execute(async () => {
        called = true
      }),
    ).rejects.toMatchObject({
      code: 'E_RATE_LIMITED',
      policy: 'search',
      key: 'tenant:acme',
      limit: 1,
      remaining: 0,
      retryAfterMs: 10_000,
    })
    expect(called).toBe(false)
    tenant = 'globex'
    expect(await policy.execute(async () => 'ran')).toBe('ran')
  })

  it('takes a constant key and a cost, and passes the signal on', async () => {
    const limiter = frozen({ limit: 5, windowMs: 10_000 })
    const controller = new AbortController()
    const policy = rateLimit(limiter, 'global', { cost: 3 })
    expect(await policy.execute(async ({ signal }) => signal === controller.signal, controller.signal)).toBe(
      true,
    )
    await expect(policy.execute(async () => 1)).rejects.toMatchObject({
      code: 'E_RATE_LIMITED',
      remaining: 2,
    })
    controller.abort()
    await expect(policy.execute(async () => 1, controller.signal)).rejects.toMatchObject({
      code: 'E_ABORTED',
    })
  })
})

describe('rateLimitHeaders() (draft-ietf-httpapi-ratelimit-headers)', () => {
  const allowed: RateLimitResult = {
    allowed: true,
    limit: 100,
    remaining: 42,
    resetMs: 16_200,
    retryAfterMs: 0,
  }
  const refused: RateLimitResult = {
    allowed: false,
    limit: 100,
    remaining: 0,
    resetMs: 60_000,
    retryAfterMs: 2_500,
  }

  it('writes RateLimit-Policy and RateLimit as Structured Field lists', () => {
    expect(rateLimitHeaders(allowed, { windowMs: 60_000 })).toEqual({
      'ratelimit-policy': '"default";q=100;w=60',
      ratelimit: '"default";r=42;t=17',
    })
  })

  it('adds Retry-After when refused, no earlier than the end of the effective window t', () => {
    expect(rateLimitHeaders(refused, { policy: 'per-user', windowMs: 1_500 })).toEqual({
      'ratelimit-policy': '"per-user";q=100;w=2',
      ratelimit: '"per-user";r=0;t=3',
      'retry-after': '3',
    })
    expect(retryAfterSeconds(1)).toBe(1)
    expect(retryAfterSeconds(2_001)).toBe(3)
  })

  it('sends a partition key as a byte sequence and escapes the policy name', () => {
    const headers = rateLimitHeaders(allowed, {
      policy: 'say "hi"',
      windowMs: 10_000,
      partitionKey: 'user:42',
    })
    expect(headers['ratelimit-policy']).toBe('"say \\"hi\\"";q=100;w=10;pk=:dXNlcjo0Mg==:')
    expect(headers.ratelimit).toBe('"say \\"hi\\"";r=42;t=17;pk=:dXNlcjo0Mg==:')
  })

  it('refuses a policy name that is not printable ASCII', () => {
    expect(() => rateLimitHeaders(allowed, { policy: 'café', windowMs: 1_000 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options.policy' }),
    )
  })

  it('is what limiter.headers() gives for its own name and window', async () => {
    const limiter = frozen({ name: 'api', limit: 10, windowMs: 60_000 })
    const result = await limiter.take('k')
    expect(limiter.headers(result)).toEqual({
      'ratelimit-policy': '"api";q=10;w=60',
      ratelimit: '"api";r=9;t=6',
    })
  })
})
