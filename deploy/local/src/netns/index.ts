/**
 * A PostgreSQL replica on a "machine" of its own: a network namespace with one veth to this one,
 * whose link a drill can cut (`ip link set … down`) and restore — for partition drills and tests.
 *
 * @example
 * import { createReplicaNetwork, startNetnsReplica } from '@hundredfold/stack/netns'
 * await using network = await createReplicaNetwork({ signal })
 * await using replica = await startNetnsReplica({ network, primary: { host: '127.0.0.1', port: 18200 } })
 * await network.cut() // reads to replica.url('postgres') hang now
 * await network.restore()
 */

export {
  type NetnsReplica,
  type NetnsReplicaOptions,
  removeLeftoverReplicaDirs,
  startNetnsReplica,
} from './netns-replica.js'
export {
  chooseReplicaSubnet,
  guardRouteMetric,
  isReplicaNetName,
  type ReplicaNetLayout,
  replicaNetLayout,
  replicaNetPool,
  replicaNetPrefix,
} from './replica-net-layout.js'
export {
  createReplicaNetwork,
  type ReplicaNetwork,
  type ReplicaNetworkOptions,
  removeLeftoverReplicaNetworks,
} from './replica-network.js'
export { startTcpRelay, type TcpRelay } from './tcp-relay.js'
