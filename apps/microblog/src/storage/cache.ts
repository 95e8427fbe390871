import { type Cache, createCache, memoryBus, memoryStore, type Serializer } from '@hundredfold/cache'
import { redisBus, redisStore } from '@hundredfold/cache/redis'
import type { MicroblogConfig } from '../config.js'

/** The read cache of this process, and how to close what it opened. */
export interface AppCache {
  readonly cache: Cache
  close(): Promise<void>
}

/** Rows carry `created_at` as a Date; JSON turns it into a string, so the reviver turns it back. */
const rows: Serializer = {
  serialize: (value) => JSON.stringify(value),
  deserialize: (text) =>
    JSON.parse(text, (key, value) =>
      key === 'created_at' && typeof value === 'string' ? new Date(value) : value,
    ),
}

/**
 * `HF_CACHE=off`: none. With `HF_REDIS_URL`: L2 and the invalidation bus on Redis, shared by every
 * process. Without: both in this process (the embedded default, one process).
 */
export async function openCache(config: MicroblogConfig): Promise<AppCache | undefined> {
  if (!config.cache) return undefined
  const url = config.redisUrl
  const ns = config.namespace
  const l2 = url ? redisStore({ connection: url, prefix: `hf:${ns}:` }) : memoryStore()
  const bus = url ? redisBus({ connection: url, channel: `hf:${ns}:invalidate` }) : memoryBus()
  const cache = createCache({
    l2,
    bus,
    serializer: rows,
    ttlMs: 60_000,
    // Every write deletes its keys through the bus, which reaches every process's L1, and a bus that
    // reconnects (and may have lost messages) clears L1: so L1 may keep an entry as long as L2 does.
    // A short L1 TTL would only send warm keys back to Redis every few seconds.
    l1TtlMs: 60_000,
    l1Max: config.cacheL1Max,
  })
  await cache.ready()
  return {
    cache,
    async close() {
      await cache.close()
      await Promise.all([l2.close(), bus.close()])
    },
  }
}
