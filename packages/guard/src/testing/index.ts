/**
 * `@hundredfold/guard/testing`: a fake clock for the guard's `now` options, and the contract every
 * rate-limit store must pass (written against vitest, an optional peer dependency).
 *
 * @example
 * import { fakeClock, registerRateLimitContract } from '@hundredfold/guard/testing'
 * registerRateLimitContract('my store', async () => ({ store: (now) => myStore({ now }), cleanup: async () => {} }))
 */
export { type FakeClock, fakeClock } from './fake-clock.js'
export {
  type RateLimitContractOptions,
  type RateLimitStoreFixture,
  registerRateLimitContract,
} from './rate-limit-contract.js'
