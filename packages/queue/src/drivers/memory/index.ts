export { MemoryBroker } from './memory-broker.js'
export { type MemoryDriverOptions, memoryDriver } from './memory-driver.js'
