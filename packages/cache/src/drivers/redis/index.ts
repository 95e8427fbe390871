export { type RedisBusOptions, redisBus } from './redis-bus.js'
export type { RedisConnection } from './redis-client.js'
export { type RedisStoreOptions, redisStore } from './redis-store.js'
