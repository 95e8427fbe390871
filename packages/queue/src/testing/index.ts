/**
 * Test helpers for `@hundredfold/queue` and for your own `QueueDriver`: the contract suite every
 * driver passes (written against vitest's `describe` / `it` / `expect`; vitest is an optional peer
 * dependency) and a `nats-server` fixture.
 *
 * @example
 * import { jetstreamDriver } from '@hundredfold/queue/jetstream'
 * import { registerQueueContract, startNatsServer } from '@hundredfold/queue/testing'
 *
 * const nats = await startNatsServer()
 * registerQueueContract('my driver', () => ({
 *   connect: () => jetstreamDriver({ servers: nats.url }),
 *   cleanup: () => nats.stop(),
 * }))
 */
export { eventually, expectCode, uniqueName } from './contract-helpers.js'
export { type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.js'
export { registerQueueContract } from './queue-contract.js'
export type { QueueFixture } from './queue-fixture.js'
export { registerStreamLimitsContract } from './stream-limits-contract.js'
