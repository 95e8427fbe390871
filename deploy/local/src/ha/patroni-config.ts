import type { HaLayout, PatroniMemberLayout } from './ha-layout.js'
import type { ResolvedPatroniOptions } from './patroni-options.js'
import { toYaml, type YamlValue } from './yaml.js'

/** The superuser Patroni connects as, and the role the replicas stream with (created at bootstrap). */
export const patroniUsers = Object.freeze({ superuser: 'postgres', replication: 'replicator' })

/** Trust on loopback and the Unix socket: a test cluster on 127.0.0.1, never reachable from elsewhere. */
export const patroniHba = Object.freeze([
  'local all all trust',
  'host all all 127.0.0.1/32 trust',
  'local replication all trust',
  'host replication all 127.0.0.1/32 trust',
])

/**
 * The Patroni 3.0 configuration of one member, as an object. `bootstrap.dcs` is written to etcd by
 * the member that initialises the cluster and is then the whole cluster's: the timings, the
 * replication mode and the PostgreSQL settings that must match on every member.
 */
export function patroniConfig(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  member: PatroniMemberLayout,
): YamlValue {
  const address = (port: number) => `127.0.0.1:${port}`
  return {
    scope: options.scope,
    name: member.name,
    restapi: { listen: address(member.restPort), connect_address: address(member.restPort) },
    etcd3: { hosts: layout.etcd.map((m) => address(m.clientPort)) },
    bootstrap: {
      dcs: {
        ttl: options.ttl,
        loop_wait: options.loopWait,
        retry_timeout: options.retryTimeout,
        maximum_lag_on_failover: options.maximumLagOnFailover,
        synchronous_mode: options.synchronous,
        ...(options.synchronous ? { synchronous_node_count: 1, synchronous_mode_strict: false } : {}),
        postgresql: { use_pg_rewind: true, use_slots: true, parameters: { ...options.parameters } },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }],
    },
    postgresql: {
      listen: address(member.pgPort),
      connect_address: address(member.pgPort),
      data_dir: member.dataDir,
      bin_dir: options.pgBin,
      pgpass: `${member.dir}/pgpass`,
      pg_ctl_timeout: Math.ceil(options.startTimeoutMs / 1000),
      authentication: {
        superuser: { username: patroniUsers.superuser },
        replication: { username: patroniUsers.replication },
        rewind: { username: patroniUsers.superuser },
      },
      parameters: { unix_socket_directories: member.dir },
      pg_hba: [...patroniHba],
    },
    watchdog: { mode: 'off' },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  }
}

/** {@link patroniConfig} as the YAML file Patroni reads. */
export function renderPatroniConfig(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  member: PatroniMemberLayout,
): string {
  return toYaml(patroniConfig(options, layout, member))
}
