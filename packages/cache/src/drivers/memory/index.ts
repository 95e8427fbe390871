export { memoryBus } from './memory-bus.js'
export { type MemoryStoreOptions, memoryStore } from './memory-store.js'
