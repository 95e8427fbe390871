/**
 * `@hundredfold/guard/redis`: cluster-wide rate limits on Redis. Needs the optional peer `ioredis`;
 * importing this entry without it fails with `E_PEER_MISSING`.
 */
export type { RedisConnection } from './redis-client.js'
export {
  RedisStore,
  type RedisStoreOptions,
  redisStore,
  redisStoreDefaults,
  type StoreErrorMode,
} from './redis-store.js'
