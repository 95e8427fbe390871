/**
 * `@hundredfold/balance/testing`: the contracts every `Picker` and every `Discovery` must pass, so your own
 * can run the suites the built-in ones run. Written against vitest and fast-check (optional peer dependencies).
 *
 * @example
 * import { registerPickerContract } from '@hundredfold/balance/testing'
 * registerPickerContract('my picker', () => myPicker())
 */
export {
  type DiscoveryFactory,
  type DiscoveryFixture,
  registerDiscoveryContract,
} from './discovery-contract.js'
export { type FakeEndpoint, fakeEndpoint } from './fake-endpoint.js'
export { registerPickerContract } from './picker-contract.js'
