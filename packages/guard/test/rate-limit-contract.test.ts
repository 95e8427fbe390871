import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisStore } from '../src/drivers/redis/index.js'
import { memoryStore } from '../src/rate-limit/index.js'
import { registerRateLimitContract } from '../src/testing/index.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

registerRateLimitContract('in-process (memory store)', async () => ({
  store: (now) => memoryStore({ now }),
  cleanup: async () => {},
}))

registerRateLimitContract('redis (Lua scripts by EVALSHA)', async () => {
  const prefix = `hf-test:guard:${randomBytes(4).toString('hex')}:`
  const admin = new Redis(REDIS_URL)
  return {
    // Failures surface (`closed`), and a busy test machine does not time a call out.
    store: (now) =>
      redisStore({ connection: REDIS_URL, prefix, now, onStoreError: 'closed', commandTimeoutMs: 5_000 }),
    async cleanup() {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    },
  }
})
