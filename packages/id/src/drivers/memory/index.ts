export { MemoryLeaseStore, type MemoryLeaseStoreOptions, memoryLeaseStore } from './memory-lease-store.js'
