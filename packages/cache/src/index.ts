export { Breaker, type BreakerOptions, type BreakerState } from './breaker.js'
export type { Bus, Invalidation } from './bus.js'
export {
  Cache,
  type CacheTally,
  createCache,
  type GetOptions,
  type Loader,
  type ManyLoader,
} from './cache.js'
export { CACHE_CHANNELS, type L2TrustEvent } from './channels.js'
export { type MemoryStoreOptions, memoryBus, memoryStore } from './drivers/memory/index.js'
export { CacheError, type CacheErrorCode, type CacheErrorContext } from './errors.js'
export type { AcquireResult, FillItem, L2Store, StoredValue } from './l2-store.js'
export { Limiter } from './limiter.js'
export { type CacheOptions, cacheDefaults, type Serializer } from './options.js'
export type { CacheStats } from './stats.js'
