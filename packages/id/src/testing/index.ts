/**
 * `@hundredfold/id/testing`: the contract every `LeaseStore` must pass, so your own store can run the
 * suite the memory and PostgreSQL stores run. Written against vitest (an optional peer dependency).
 *
 * @example
 * import { registerLeaseStoreContract } from '@hundredfold/id/testing'
 * registerLeaseStoreContract('my store', async () => ({ store: myLeaseStore(), close: async () => {} }))
 */
export { registerLeaseStoreContract, type StoreFactory } from './lease-store-contract.js'
