import { setTimeout as sleep } from 'node:timers/promises'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, type Microblog, startMicroblog } from '../src/index.js'
import { client, signUp } from './support.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

describe('the microblog with its cache on Redis, two nodes over one database', () => {
  let database: TemporaryDatabase
  let a: Microblog
  let b: Microblog

  beforeAll(async () => {
    database = await temporaryDatabase({ prefix: 'hf_microblog_cache' })
    const config = loadConfig({
      HF_PORT: '0',
      HF_LOG_LEVEL: 'silent',
      HF_DATABASE_URL: database.url,
      HF_DB_POOL_MAX: '5',
      HF_REDIS_URL: REDIS_URL,
    })
    a = await startMicroblog(config)
    b = await startMicroblog(config)
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
    await database?.drop()
  })

  it('never hides an author’s new post behind a cached timeline, on either node', async () => {
    const [onA, onB] = [client(a.url), client(b.url)]
    const alice = await signUp(onA, `alice_${Date.now() % 100000}`)
    const posts = (res: { body: { posts: Array<{ text: string }> } }) => res.body.posts.map((p) => p.text)
    expect(posts(await onA.get(`/api/v1/users/${alice.id}/posts`))).toEqual([])
    expect(posts(await onA.get(`/api/v1/users/${alice.id}/posts`))).toEqual([]) // now in A's L1

    const composed = await onB.post('/api/v1/posts', { text: 'first' }, alice.token)
    expect(composed.status).toBe(201)
    const token = composed.headers.get('x-consistency-token')!
    // The author's next read lands on the other node, carrying the token: L1 is skipped, L2 was cleared.
    const withToken = await fetch(new URL(`/api/v1/users/${alice.id}/posts`, a.url), {
      headers: { 'x-consistency-token': token },
    })
    expect(((await withToken.json()) as { posts: Array<{ text: string }> }).posts.map((p) => p.text)).toEqual(
      ['first'],
    )
    // Everyone else sees it once the invalidation reaches A's L1 (pub/sub: milliseconds).
    let seen: string[] = []
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      seen = posts(await onA.get(`/api/v1/users/${alice.id}/posts`))
      if (seen.length === 0) await sleep(10)
    }
    expect(seen).toEqual(['first'])

    // On the node that wrote, the very next read sees it, token or not.
    expect((await onA.post('/api/v1/posts', { text: 'second' }, alice.token)).status).toBe(201)
    expect(posts(await onA.get(`/api/v1/users/${alice.id}/posts`))).toEqual(['second', 'first'])
    expect(posts(await onA.get(`/api/v1/users/${alice.id}/posts?limit=1`))).toEqual(['second'])
  })

  it('finds a user registered on one node right after the other node cached "no such user"', async () => {
    const [onA, onB] = [client(a.url), client(b.url)]
    const name = `late_${Date.now() % 100000}`
    expect((await onA.get(`/api/v1/usernames/${name}`)).status).toBe(404) // a miss, now cached on A
    const user = await signUp(onB, name)
    let found = 0
    for (let i = 0; i < 100 && found !== 200; i++) {
      found = (await onA.get(`/api/v1/usernames/${name}`)).status
      if (found !== 200) await sleep(10)
    }
    expect(found).toBe(200)
    expect((await onA.get(`/api/v1/usernames/${name}`)).body.user_id).toBe(user.id)
  })

  it('reports hit ratio, loads and the L2 breaker in /metrics', async () => {
    const metrics = await client(a.url).get('/metrics')
    expect(metrics.text).toMatch(/cache_keys_total\{result="l1_hit"\} [1-9]/)
    expect(metrics.text).toMatch(/cache_keys_total\{result="miss"\} [1-9]/)
    expect(metrics.text).toMatch(/cache_hit_ratio [0-9.e-]+/)
    expect(metrics.text).toMatch(/cache_loads_total\{kind="all"\} [1-9]/)
    expect(metrics.text).toMatch(/cache_l2_breaker_state\{state="closed"\} 1/)
    expect(a.services.cache?.stats().breaker).toBe('closed')
  })
})

describe('cache configuration', () => {
  it('is on by default, off with HF_CACHE=off, and checks HF_REDIS_URL', () => {
    expect(loadConfig({}).cache).toBe(true)
    expect(loadConfig({}).redisUrl).toBeUndefined()
    expect(loadConfig({ HF_CACHE: 'off' }).cache).toBe(false)
    expect(() => loadConfig({ HF_CACHE: 'maybe' })).toThrow("HF_CACHE must be 'on' or 'off'")
    expect(() => loadConfig({ HF_REDIS_URL: 'http://x' })).toThrow(
      'HF_REDIS_URL must be a redis:// or rediss:// URL',
    )
  })
})
