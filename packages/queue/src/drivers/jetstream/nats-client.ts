import { loadPeers } from '../../load-peers.js'

// NATS's client libraries, optional peer dependencies, loaded once for the whole driver at import of
// `@hundredfold/queue/jetstream`. Types come from `import type`, which is erased; values come from here.
const nats = await loadPeers('@hundredfold/queue/jetstream', {
  '@nats-io/jetstream': () => import('@nats-io/jetstream'),
  '@nats-io/nats-core': () => import('@nats-io/nats-core'),
  '@nats-io/transport-node': () => import('@nats-io/transport-node'),
})

export const {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} = nats['@nats-io/jetstream']
export const { createInbox, headers, nanos } = nats['@nats-io/nats-core']
export const { connect } = nats['@nats-io/transport-node']
