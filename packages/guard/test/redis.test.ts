import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import * as diagnostics from 'node:diagnostics_channel'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { redisStore } from '../src/drivers/redis/index.js'
import { TOKEN_BUCKET } from '../src/drivers/redis/scripts.js'
import { GUARD_CHANNELS, type StoreErrorEvent } from '../src/observe/index.js'
import { type RateLimitAlgorithm, rateLimiter } from '../src/rate-limit/index.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const REDIS = new URL(REDIS_URL)
const prefix = `hf-test:guard-redis:${randomBytes(4).toString('hex')}:`
const admin = new Redis(REDIS_URL)
const closers: (() => Promise<unknown>)[] = []

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {})
  const keys = await admin.keys(`${prefix}*`)
  if (keys.length > 0) await admin.del(...keys)
  await admin.quit()
})

/** A store on the test Redis; failures surface (`closed`) and a busy machine does not time out a call. */
function store(options: Partial<Parameters<typeof redisStore>[0]> = {}) {
  const made = redisStore({
    connection: REDIS_URL,
    prefix,
    onStoreError: 'closed',
    commandTimeoutMs: 5_000,
    ...options,
  } as Parameters<typeof redisStore>[0])
  closers.push(() => made.close())
  return made
}

/** A port where nothing listens. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A TCP proxy to Redis that can be cut and restored, on the same port. */
async function chaosProxy() {
  const port = await deadPort()
  let server: Server | undefined
  const sockets = new Set<Socket>()
  const up = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(REDIS.port || 6379), REDIS.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => sockets.delete(s))
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
  }
  const down = async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    server = undefined
  }
  await up()
  closers.push(down)
  return { url: `redis://127.0.0.1:${port}`, up, down }
}

function storeErrors(): { events: StoreErrorEvent[]; stop: () => void } {
  const events: StoreErrorEvent[] = []
  const listener = (e: unknown) => events.push(e as StoreErrorEvent)
  diagnostics.subscribe(GUARD_CHANNELS.storeError, listener)
  return { events, stop: () => diagnostics.unsubscribe(GUARD_CHANNELS.storeError, listener) }
}

describe('redisStore()', () => {
  it('runs by SHA on Redis server time, and reloads its script when Redis forgot it', async () => {
    const limiter = rateLimiter({ limit: 2, windowMs: 60_000, store: store() })
    expect(await limiter.take('sha')).toMatchObject({ allowed: true, remaining: 1 })
    const sha = createHash('sha1').update(TOKEN_BUCKET).digest('hex')
    expect(await admin.script('EXISTS', sha)).toEqual([1])
    await admin.script('FLUSH')
    expect(await limiter.take('sha')).toMatchObject({ allowed: true, remaining: 0 })
    expect(await limiter.take('sha')).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('takes a client of yours and leaves it open', async () => {
    const client = new Redis(REDIS_URL)
    const mine = redisStore({ client, prefix })
    const limiter = rateLimiter({ limit: 1, windowMs: 60_000, store: mine })
    expect((await limiter.take('yours')).allowed).toBe(true)
    await mine.close()
    expect(await client.ping()).toBe('PONG')
    await client.quit()
  })

  for (const algorithm of ['token-bucket', 'sliding-window'] as RateLimitAlgorithm[]) {
    it(`${algorithm}: never grants more than the limit cluster-wide, under many concurrent takes from two processes`, async () => {
      // Two stores on two connections stand for two app processes sharing the limit.
      const processes = [store({ name: 'p1' }), store({ name: 'p2' })].map((s) =>
        rateLimiter({ name: `cluster-${algorithm}`, algorithm, limit: 50, windowMs: 3_600_000, store: s }),
      )
      const results = await Promise.all(
        Array.from({ length: 400 }, (_, i) => processes[i % 2]!.take('shared', { cost: 1 + (i % 3) })),
      )
      const units = results.reduce((sum, r, i) => sum + (r.allowed ? 1 + (i % 3) : 0), 0)
      expect(units).toBeLessThanOrEqual(50)
      // What is left in Redis is exactly what was not granted: no take was lost or counted twice.
      let more = 0
      while ((await processes[more % 2]!.take('shared')).allowed) more++
      expect(units + more).toBe(50)
    })
  }
})

describe('redisStore() while Redis is away', () => {
  it("onStoreError 'open': allows every take, and stops trying Redis once its breaker opens", async () => {
    const port = await deadPort()
    const errors = storeErrors()
    try {
      const dead = store({
        connection: `redis://127.0.0.1:${port}`,
        onStoreError: 'open',
        commandTimeoutMs: 200,
        breakerFailures: 2,
        breakerOpenMs: 60_000,
      })
      const limiter = rateLimiter({ limit: 1, windowMs: 60_000, store: dead })
      for (let i = 0; i < 5; i++) expect((await limiter.take('k')).allowed).toBe(true)
      expect(dead.healthy).toBe(false)
      expect(errors.events.map((e) => e.skipped)).toEqual([false, false, true, true, true])
      expect(errors.events.every((e) => e.mode === 'open')).toBe(true)
    } finally {
      errors.stop()
    }
  })

  it("onStoreError 'closed': rejects with E_BACKEND, the Redis error as cause", async () => {
    const client = new Redis(REDIS_URL)
    client.on('error', () => {})
    const limiter = rateLimiter({ limit: 5, store: redisStore({ client, prefix, onStoreError: 'closed' }) })
    await client.quit()
    const error = await limiter.take('k').catch((err: unknown) => err)
    expect(error).toMatchObject({ code: 'E_BACKEND', policy: 'redis-rate-limit' })
    expect((error as Error).cause).toBeInstanceOf(Error)
  })

  it("onStoreError 'local': limits each process to its share (limit ÷ expectedProcesses) in process", async () => {
    const port = await deadPort()
    const dead = store({
      connection: `redis://127.0.0.1:${port}`,
      onStoreError: 'local',
      commandTimeoutMs: 200,
      expectedProcesses: 4,
    })
    const limiter = rateLimiter({ limit: 20, windowMs: 60_000, store: dead })
    const results = []
    for (let i = 0; i < 8; i++) results.push(await limiter.take('k'))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false, false])
    expect(results[0]).toMatchObject({ limit: 5, remaining: 4 })
  })

  it("onStoreError 'local': falls back while Redis is cut off and returns to Redis when it answers", async () => {
    const proxy = await chaosProxy()
    const flaky = store({
      connection: proxy.url,
      onStoreError: 'local',
      expectedProcesses: 2,
      commandTimeoutMs: 1_000,
      breakerFailures: 1,
      breakerOpenMs: 50,
    })
    const limiter = rateLimiter({ algorithm: 'sliding-window', limit: 10, windowMs: 3_600_000, store: flaky })
    for (let i = 0; i < 3; i++) await limiter.take('k')
    expect(await limiter.take('k')).toMatchObject({ limit: 10, remaining: 6 }) // Redis counted 4
    await proxy.down()
    await vi.waitFor(async () => expect((await limiter.take('k')).limit).toBe(5), {
      timeout: 10_000,
      interval: 20,
    })
    expect(flaky.healthy).toBe(false)
    await proxy.up()
    // Back on Redis: the count kept there (4, plus whatever the probes took) is in force again.
    await vi.waitFor(async () => expect((await limiter.take('k')).limit).toBe(10), {
      timeout: 10_000,
      interval: 20,
    })
    const back = await limiter.take('k')
    expect(back.limit).toBe(10)
    expect(back.remaining).toBeLessThanOrEqual(4)
    expect(flaky.healthy).toBe(true)
  })

  it('validates its options eagerly, naming the bad one', () => {
    const option = (o: Record<string, unknown>) => {
      try {
        redisStore({ connection: REDIS_URL, ...o } as never)
      } catch (err) {
        return (err as { option?: string }).option
      }
      return undefined
    }
    expect(option({ onStoreError: 'ignore' })).toBe('options.onStoreError')
    expect(option({ expectedProcesses: 0 })).toBe('options.expectedProcesses')
    expect(option({ commandTimeoutMs: -1 })).toBe('options.commandTimeoutMs')
    expect(option({ breakerFailures: 1.5 })).toBe('options.breakerFailures')
    expect(() => redisStore({} as never)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options' }),
    )
  })
})

describe('@hundredfold/guard/redis without ioredis', () => {
  it('fails its import with E_PEER_MISSING and the command that installs ioredis', async () => {
    const hide = fileURLToPath(new URL('../../../scripts/hide-packages.mjs', import.meta.url))
    const entry = new URL('../src/drivers/redis/index.ts', import.meta.url).href
    const script = `import(${JSON.stringify(entry)}).then(
      () => console.log('imported'),
      (err) => console.log(JSON.stringify({ code: err.code, message: err.message })),
    )`
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', hide, '-e', script],
      {
        env: { ...process.env, HIDE_PACKAGES: 'ioredis' },
      },
    )
    expect(JSON.parse(stdout)).toEqual({
      code: 'E_PEER_MISSING',
      message: '@hundredfold/guard/redis needs ioredis: npm install ioredis',
    })
  })
})
