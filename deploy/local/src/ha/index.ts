/**
 * A Patroni-managed PostgreSQL cluster on loopback: a static etcd cluster, one Patroni per
 * PostgreSQL member (one primary, streaming replicas), started and stopped by PID — for HA drills
 * and failover tests.
 *
 * @example
 * import { startPatroniCluster } from './ha/index.js'
 * await using cluster = await startPatroniCluster({ synchronous: true })
 * console.log((await cluster.waitForPrimary()).url)
 */

export { etcdFlags } from './etcd-flags.js'
export {
  type EtcdMemberLayout,
  type HaLayout,
  haLayout,
  haPortOffsets,
  type PatroniMemberLayout,
} from './ha-layout.js'
export type { EtcdMember, KillTarget, PatroniCluster, PatroniMember } from './patroni-cluster.js'
export { patroniConfig, patroniHba, patroniUsers, renderPatroniConfig } from './patroni-config.js'
export {
  type PatroniClusterOptions,
  patroniDefaults,
  patroniLimits,
  type ResolvedPatroniOptions,
  resolvePatroniOptions,
} from './patroni-options.js'
export type { PatroniMemberStatus, PatroniTopology, PatroniTopologyMember } from './patroni-rest.js'
export { startPatroniCluster } from './start-patroni-cluster.js'
export { toYaml, type YamlValue } from './yaml.js'
