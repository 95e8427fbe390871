import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { redisStore } from '../src/drivers/redis/index.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

describe('redisStore', () => {
  const base = `hf-test:${randomBytes(4).toString('hex')}`
  const admin = new Redis(REDIS_URL)
  afterAll(async () => {
    const names = await admin.keys(`${base}*`)
    if (names.length > 0) await admin.del(...names)
    await admin.quit()
  })

  it('clears only the keys under its own prefix, even a prefix with glob characters', async () => {
    const ours = redisStore({ connection: REDIS_URL, prefix: `${base}:a*:` })
    const theirs = redisStore({ connection: REDIS_URL, prefix: `${base}:ab:` })
    for (const store of [ours, theirs]) {
      await store.acquire(['k'], ['t'], 5000)
      await store.fill([{ key: 'k', token: 't', payload: 'v', ttlMs: 5000, graceMs: 0 }])
    }
    await admin.set(`${base}:a*:plain`, 'not a cache entry')
    await ours.clear()
    expect(await ours.peek(['k'])).toEqual([undefined])
    expect(await theirs.peek(['k'])).toEqual([{ payload: 'v', fresh: true }])
    expect(await admin.get(`${base}:a*:plain`)).toBe('not a cache entry')
    await Promise.all([ours.close(), theirs.close()])
  })
})
