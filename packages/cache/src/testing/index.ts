/**
 * `@hundredfold/cache/testing`: the contract every L2 store and bus must pass, and a chaos wrapper to
 * inject failures into any store. Written against vitest (an optional peer dependency).
 *
 * @example
 * import { registerBackendContract } from '@hundredfold/cache/testing'
 * registerBackendContract('my store', async () => ({ store: () => myStore(), bus: () => myBus(), cleanup: async () => {} }))
 */
export { type BackendFixture, registerBackendContract } from './backend-contract.js'
export { type ChaosControl, type ChaosMethod, chaosStore } from './chaos-store.js'
