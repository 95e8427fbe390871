import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import { concurrencyLimiter } from '../src/concurrency/concurrency-limiter.js'
import { fixed } from '../src/concurrency/fixed.js'
import { GuardError } from '../src/errors.js'
import { type GuardPluginOptions, guardPlugin, problemForGuardError } from '../src/fastify/index.js'
import { peerMissing } from '../src/fastify/load-fastify.js'
import { rateLimiter } from '../src/rate-limit/index.js'

/** The handlers of slow requests, each waiting until the test lets it answer. */
function gates() {
  const waiting: (() => void)[] = []
  let onArrive: (() => void) | undefined
  return {
    /** Handler side: wait until let go. */
    wait(): Promise<void> {
      return new Promise<void>((resolve) => {
        waiting.push(resolve)
        onArrive?.()
      })
    },
    /** Test side: resolves once `count` handlers are waiting. */
    async arrived(count: number): Promise<void> {
      while (waiting.length < count) await new Promise<void>((resolve) => (onArrive = resolve))
    },
    get count() {
      return waiting.length
    },
    openAll(): void {
      for (const resolve of waiting.splice(0)) resolve()
    },
  }
}

async function serve(options: GuardPluginOptions, routes: (app: FastifyInstance) => void) {
  const app = Fastify()
  await app.register(guardPlugin, options)
  routes(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await app.close()
    },
  }
}

/** Every admitted request released once: none in flight, and every admission accounted for. */
async function expectAllReleased(app: FastifyInstance): Promise<void> {
  const limiter = app.guard.concurrency!
  await vi.waitFor(() => expect(limiter.inFlight).toBe(0))
  const { admitted, succeeded, dropped, ignored } = limiter.stats()
  expect(succeeded + dropped + ignored).toBe(admitted)
}

describe('guardPlugin: concurrency', () => {
  it('answers request N+1 with 503 problem+json at once under a slow handler and a fixed limit of N', async () => {
    const slow = gates()
    await using server = await serve({ concurrency: { limit: fixed(3) } }, (app) => {
      app.get('/slow', async () => {
        await slow.wait()
        return { ok: true }
      })
    })
    const admitted = [1, 2, 3].map(() => fetch(`${server.url}/slow`))
    await slow.arrived(3)
    expect(server.app.guard.concurrency!.inFlight).toBe(3)

    // Answered while the three handlers still wait: shed before any work, not after a queue.
    const shed = await fetch(`${server.url}/slow`)
    expect(shed.status).toBe(503)
    expect(shed.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expect(shed.headers.get('retry-after')).toBe('1')
    expect(await shed.json()).toMatchObject({
      type: 'urn:hundredfold:problem:E_CONCURRENCY_LIMITED',
      status: 503,
      code: 'E_CONCURRENCY_LIMITED',
      instance: '/slow',
      limit: 3,
      inFlight: 3,
    })
    expect(slow.count).toBe(3)

    slow.openAll()
    for (const response of await Promise.all(admitted)) expect(response.status).toBe(200)
    await expectAllReleased(server.app)
    expect(server.app.guard.stats()).toMatchObject({ shed: 1 })
    expect(server.app.guard.concurrency!.stats()).toMatchObject({ admitted: 3, succeeded: 3, shed: 1 })
  })

  it('releases the slot of a request whose client went away, once, even when the handler answers later', async () => {
    const slow = gates()
    let answeredLate!: () => void
    const lateAnswer = new Promise<void>((resolve) => (answeredLate = resolve))
    await using server = await serve({ concurrency: { limit: fixed(1) } }, (app) => {
      app.get('/slow', async () => {
        await slow.wait()
        answeredLate()
        return 'late'
      })
      app.get('/fast', async () => 'fast')
    })
    const client = httpRequest(`${server.url}/slow`)
    client.on('error', () => {})
    client.end()
    await slow.arrived(1)
    client.destroy()
    await vi.waitFor(() => expect(server.app.guard.concurrency!.inFlight).toBe(0))
    expect(server.app.guard.concurrency!.stats()).toMatchObject({ ignored: 1 })

    // The slot is usable again at once; the abandoned handler answering later releases nothing more.
    expect((await fetch(`${server.url}/fast`)).status).toBe(200)
    slow.openAll()
    await lateAnswer
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    await expectAllReleased(server.app)
    expect(server.app.guard.concurrency!.stats()).toMatchObject({ admitted: 2, succeeded: 1, ignored: 1 })
  })

  it('releases on handler errors (not sampled) and counts 503/504 answers as drops', async () => {
    await using server = await serve({ concurrency: { limit: fixed(2) } }, (app) => {
      app.get('/boom', async () => {
        throw new Error('handler bug')
      })
      app.get('/overloaded', async (_request, reply) => reply.code(503).send('downstream full'))
      app.get('/ok', async () => 'ok')
    })
    expect((await fetch(`${server.url}/boom`)).status).toBe(500)
    expect((await fetch(`${server.url}/overloaded`)).status).toBe(503)
    expect((await fetch(`${server.url}/ok`)).status).toBe(200)
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404)
    await expectAllReleased(server.app)
    expect(server.app.guard.concurrency!.stats()).toMatchObject({
      admitted: 4,
      succeeded: 2,
      dropped: 1,
      ignored: 1,
    })
  })

  it('with a queue, request N+1 waits for a slot and N+2 is shed', async () => {
    const slow = gates()
    const limiter = concurrencyLimiter({
      name: 'http',
      limit: fixed(1),
      maxQueued: 1,
      maxQueueWaitMs: 10_000,
    })
    await using server = await serve({ concurrency: limiter }, (app) => {
      app.get('/slow', async () => {
        await slow.wait()
        return 'done'
      })
    })
    const first = fetch(`${server.url}/slow`)
    await slow.arrived(1)
    const queued = fetch(`${server.url}/slow`)
    await vi.waitFor(() => expect(limiter.queued).toBe(1))
    expect((await fetch(`${server.url}/slow`)).status).toBe(503)
    slow.openAll()
    expect((await first).status).toBe(200)
    await slow.arrived(1)
    slow.openAll()
    expect((await queued).status).toBe(200)
    await expectAllReleased(server.app)
  })

  it('exposes the limiter the app gave it on fastify.guard', async () => {
    const limiter = concurrencyLimiter({ name: 'api', limit: 8 })
    await using server = await serve({ concurrency: limiter }, () => {})
    expect(server.app.guard.concurrency).toBe(limiter)
    expect(server.app.guard.concurrency!.limit).toBe(8)
    await using none = await serve({ concurrency: false }, (app) => app.get('/', async () => 'ok'))
    expect(none.app.guard.concurrency).toBeUndefined()
    expect((await fetch(none.url)).status).toBe(200)
  })
})

describe('guardPlugin: event-loop delay', () => {
  it('sheds with 503 reason event-loop-delay while the loop is late, and admits again once it caught up', async () => {
    await using server = await serve(
      { concurrency: false, maxEventLoopDelayMs: 20, exempt: ['/health'] },
      (app) => {
        app.get('/', async () => 'ok')
        app.get('/health', async () => 'ok')
      },
    )
    expect((await fetch(server.url)).status).toBe(200)
    // The loop is held 300 ms: the sampler's timer fires that late, and the next request is refused.
    const until = performance.now() + 300
    while (performance.now() < until) {}
    await new Promise((resolve) => setTimeout(resolve, 1))
    const late = await fetch(server.url)
    expect(late.status).toBe(503)
    expect(await late.json()).toMatchObject({ code: 'E_CONCURRENCY_LIMITED', reason: 'event-loop-delay' })
    expect(server.app.guard.stats()).toMatchObject({ shed: 1, shedLoopDelay: 1 })
    // Exempt routes pass however late the loop is; once it is on time again, so does everything.
    await vi.waitFor(async () => expect((await fetch(server.url)).status).toBe(200), { timeout: 2_000 })
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })
})

describe('guardPlugin: exempt routes', () => {
  it('lets health checks through while the limit is reached, by URL or by route config', async () => {
    const slow = gates()
    await using server = await serve({ concurrency: { limit: fixed(1) }, exempt: ['/health'] }, (app) => {
      app.get('/slow', async () => {
        await slow.wait()
        return 'slow'
      })
      app.get('/health', async () => 'ok')
      app.get('/ready', { config: { guard: { exempt: true } } }, async () => 'ready')
      app.get('/metrics', { config: { guard: { concurrency: false } } }, async () => 'metrics')
    })
    const held = fetch(`${server.url}/slow`)
    await slow.arrived(1)
    expect((await fetch(`${server.url}/slow`)).status).toBe(503)
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    expect((await fetch(`${server.url}/ready`)).status).toBe(200)
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200)
    slow.openAll()
    await held
    await expectAllReleased(server.app)
    expect(server.app.guard.stats()).toMatchObject({ exempt: 2, shed: 1 })
  })

  it('takes a predicate', async () => {
    await using server = await serve(
      { concurrency: { limit: fixed(1) }, exempt: (request) => request.headers['x-internal'] === '1' },
      (app) => app.get('/', async () => 'ok'),
    )
    await fetch(server.url, { headers: { 'x-internal': '1' } })
    expect(server.app.guard.stats().exempt).toBe(1)
  })
})

describe('guardPlugin: rate limits', () => {
  it('answers 429 problem+json with Retry-After and the RateLimit headers once a key spent its quota', async () => {
    const perUser = rateLimiter({ name: 'per-user', limit: 2, windowMs: 60_000, algorithm: 'sliding-window' })
    await using server = await serve(
      { rateLimit: { limiter: perUser, key: (request) => String(request.headers['x-user']) } },
      (app) => app.get('/posts', async () => []),
    )
    const as = (user: string) => fetch(`${server.url}/posts`, { headers: { 'x-user': user } })
    const first = await as('ada')
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"per-user";q=2;w=60')
    expect(first.headers.get('ratelimit')).toMatch(/^"per-user";r=1;t=\d+$/)
    expect((await as('ada')).status).toBe(200)

    const refused = await as('ada')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(refused.headers.get('ratelimit')).toMatch(/^"per-user";r=0;t=\d+$/)
    expect(await refused.json()).toMatchObject({
      type: 'urn:hundredfold:problem:E_RATE_LIMITED',
      status: 429,
      code: 'E_RATE_LIMITED',
      limit: 2,
      remaining: 0,
    })
    expect((await as('grace')).status).toBe(200) // another key's quota is its own
    expect(server.app.guard.stats().rateLimited).toBe(1)
    await expectAllReleased(server.app)
    // A refusal is not an RTT sample.
    expect(server.app.guard.concurrency!.stats()).toMatchObject({ admitted: 4, succeeded: 3, ignored: 1 })
  })

  it("formats the headers itself for a limiter without headers(), from the route's policy and window", async () => {
    let left = 1
    const limiter = {
      take: vi.fn(async (_key: string, _options: { signal?: AbortSignal }) => {
        const allowed = left-- > 0
        return { allowed, limit: 1, remaining: 0, resetMs: 30_000, retryAfterMs: allowed ? 0 : 29_500 }
      }),
    }
    await using server = await serve({ concurrency: false }, (app) => {
      app.post(
        '/login',
        { config: { guard: { rateLimit: { limiter, policy: 'login', windowMs: 30_000 } } } },
        async () => 'welcome',
      )
      app.get('/free', async () => 'free')
    })
    const ok = await fetch(`${server.url}/login`, { method: 'POST' })
    expect(ok.headers.get('ratelimit-policy')).toBe('"login";q=1;w=30')
    const refused = await fetch(`${server.url}/login`, { method: 'POST' })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('30')
    expect(refused.headers.get('ratelimit')).toBe('"login";r=0;t=30')
    expect(limiter.take).toHaveBeenCalledWith('127.0.0.1', { signal: expect.any(AbortSignal) })
    expect((await fetch(`${server.url}/free`)).headers.get('ratelimit')).toBeNull()
  })

  it('lets a route opt out of the plugin-wide rate limit, and exempt routes skip it', async () => {
    const limiter = rateLimiter({ limit: 1, windowMs: 60_000 })
    await using server = await serve({ rateLimit: { limiter }, exempt: ['/health'] }, (app) => {
      app.get('/limited', async () => 'ok')
      app.get('/unlimited', { config: { guard: { rateLimit: false } } }, async () => 'ok')
      app.get('/health', async () => 'ok')
    })
    expect((await fetch(`${server.url}/limited`)).status).toBe(200)
    expect((await fetch(`${server.url}/limited`)).status).toBe(429)
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${server.url}/unlimited`)).status).toBe(200)
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
    }
  })
})

describe('guardPlugin: options', () => {
  it('rejects bad options at registration, naming them', async () => {
    for (const [options, option] of [
      [{ rateLimit: { limiter: {} } }, 'options.rateLimit.limiter'],
      [{ rateLimit: { limiter: { take: async () => ({}) } } }, 'options.rateLimit.windowMs'],
      [{ exempt: '/health' }, 'options.exempt'],
      [{ retryAfterSeconds: 0 }, 'options.retryAfterSeconds'],
      [{ concurrency: { maxQueued: -1 } }, 'options.maxQueued'],
    ] as const) {
      const app = Fastify()
      await expect(app.register(guardPlugin, options as never).ready()).rejects.toMatchObject({
        code: 'E_INVALID_OPTION',
        option,
      })
      await app.close()
    }
  })

  it("rejects a route's bad rate limit when the route is added", async () => {
    const app = Fastify()
    await app.register(guardPlugin, {})
    expect(() =>
      app.get('/x', { config: { guard: { rateLimit: { limiter: {} as never } } } }, async () => 'x'),
    ).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    await app.close()
  })
})

describe('problemForGuardError', () => {
  it("turns a route's guard errors into problem documents, and leaves other errors alone", () => {
    const full = new GuardError('E_BULKHEAD_FULL', 'db: full', { policy: 'db', queued: 5, maxQueued: 5 })
    const problem = problemForGuardError(full, '/posts')!
    expect(problem.status).toBe(503)
    expect(problem.headers['retry-after']).toBe('1')
    expect(JSON.parse(problem.body)).toMatchObject({ code: 'E_BULKHEAD_FULL', detail: 'db: full', queued: 5 })
    const limited = problemForGuardError(
      new GuardError('E_RATE_LIMITED', 'slow down', { retryAfterMs: 2_500 }),
      '/',
    )!
    expect(limited).toMatchObject({ status: 429, headers: { 'retry-after': '3' } })
    expect(problemForGuardError(new Error('boom'), '/')).toBeUndefined()
    expect(problemForGuardError(new GuardError('E_ABORTED', 'gone'), '/')).toBeUndefined()
  })
})

describe('@hundredfold/guard/fastify without fastify', () => {
  it('fails the import with E_PEER_MISSING naming the install command', () => {
    const missing = Object.assign(new Error("Cannot find package 'fastify'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    let error: unknown
    try {
      peerMissing('@hundredfold/guard/fastify', 'fastify')(missing)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GuardError)
    expect(error).toMatchObject({ code: 'E_PEER_MISSING', cause: missing })
    expect((error as Error).message).toBe('@hundredfold/guard/fastify needs fastify: npm install fastify')
    const other = new SyntaxError('broken install')
    expect(() => peerMissing('@hundredfold/guard/fastify', 'fastify')(other)).toThrow(other)
  })
})
