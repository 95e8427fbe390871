import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { memoryBus, memoryStore } from '../src/drivers/memory/index.js'
import { redisBus, redisStore } from '../src/drivers/redis/index.js'
import { registerBackendContract } from '../src/testing/index.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

registerBackendContract('embedded (memory store + in-process bus)', async () => {
  const bus = memoryBus()
  return { store: () => memoryStore(), bus: () => bus, cleanup: async () => {} }
})

registerBackendContract('redis (Lua leases + pub/sub)', async () => {
  const prefix = `hf-test:${randomBytes(4).toString('hex')}:`
  const channel = `${prefix}bus`
  const admin = new Redis(REDIS_URL)
  return {
    store: () => redisStore({ connection: REDIS_URL, prefix }),
    bus: () => redisBus({ connection: REDIS_URL, channel }),
    async cleanup() {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await admin.quit()
    },
  }
})
