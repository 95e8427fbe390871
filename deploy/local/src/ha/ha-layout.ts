import { join } from 'node:path'
import type { ResolvedPatroniOptions } from './patroni-options.js'

/** Where each process of a Patroni cluster listens, as an offset from `basePort` (member n at +n−1). */
export const haPortOffsets = Object.freeze({
  etcdClient: 0,
  etcdPeer: 10,
  postgres: 20,
  patroniRest: 30,
})

/** One etcd member: its ports, data directory and log. */
export interface EtcdMemberLayout {
  /** `etcd-1`, `etcd-2`… */
  readonly name: string
  readonly clientPort: number
  readonly peerPort: number
  /** `http://127.0.0.1:<clientPort>` */
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly log: string
}

/** One PostgreSQL member and the Patroni that runs it. */
export interface PatroniMemberLayout {
  /** `pg-1`, `pg-2`…: Patroni's `name`, and the replicas' `application_name`. */
  readonly name: string
  readonly pgPort: number
  readonly restPort: number
  /** `postgres://postgres@127.0.0.1:<pgPort>/postgres`: the superuser, trusted on loopback. */
  readonly url: string
  /** `http://127.0.0.1:<restPort>`: Patroni's REST API. */
  readonly restUrl: string
  /** The member's own directory (owned by `postgres`): configuration, sockets, pgpass, data. */
  readonly dir: string
  readonly dataDir: string
  readonly configFile: string
  readonly log: string
}

/** Every member of a Patroni cluster and where it lives under `dir`. */
export interface HaLayout {
  readonly dir: string
  readonly etcd: readonly EtcdMemberLayout[]
  readonly members: readonly PatroniMemberLayout[]
}

/** Names, ports and paths of every member: the same options and `dir` always give the same layout. */
export function haLayout(options: ResolvedPatroniOptions, dir: string): HaLayout {
  const port = (offset: number, index: number) => options.basePort + offset + index
  const etcd = Array.from({ length: options.etcdMembers }, (_, i): EtcdMemberLayout => {
    const name = `etcd-${i + 1}`
    const clientPort = port(haPortOffsets.etcdClient, i)
    const peerPort = port(haPortOffsets.etcdPeer, i)
    return {
      name,
      clientPort,
      peerPort,
      clientUrl: `http://127.0.0.1:${clientPort}`,
      peerUrl: `http://127.0.0.1:${peerPort}`,
      dataDir: join(dir, name),
      log: join(dir, 'logs', `${name}.log`),
    }
  })
  const members = Array.from({ length: options.members }, (_, i): PatroniMemberLayout => {
    const name = `pg-${i + 1}`
    const pgPort = port(haPortOffsets.postgres, i)
    const restPort = port(haPortOffsets.patroniRest, i)
    return {
      name,
      pgPort,
      restPort,
      url: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
      restUrl: `http://127.0.0.1:${restPort}`,
      dir: join(dir, name),
      dataDir: join(dir, name, 'data'),
      configFile: join(dir, name, 'patroni.yml'),
      log: join(dir, 'logs', `${name}.log`),
    }
  })
  return { dir, etcd, members }
}
