import type { EtcdMemberLayout, HaLayout } from './ha-layout.js'

/**
 * The command line of one etcd member of a static cluster: every member is named in
 * `--initial-cluster`, and all start together (`--initial-cluster-state=new`; a member with data
 * ignores the `--initial-*` flags and rejoins).
 *
 * @example
 * spawn('/usr/bin/etcd', etcdFlags(layout, layout.etcd[0]!, 'hundredfold'))
 */
export function etcdFlags(layout: HaLayout, member: EtcdMemberLayout, scope: string): string[] {
  const cluster = layout.etcd.map((m) => `${m.name}=${m.peerUrl}`).join(',')
  return [
    `--name=${member.name}`,
    `--data-dir=${member.dataDir}`,
    `--listen-client-urls=${member.clientUrl}`,
    `--advertise-client-urls=${member.clientUrl}`,
    `--listen-peer-urls=${member.peerUrl}`,
    `--initial-advertise-peer-urls=${member.peerUrl}`,
    `--initial-cluster=${cluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${scope}-etcd`,
    '--heartbeat-interval=100',
    '--election-timeout=1000',
    '--logger=zap',
    '--log-outputs=stderr',
  ]
}
