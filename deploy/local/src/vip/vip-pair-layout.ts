import { join } from 'node:path'
import type { FrontNode } from './front-layout.js'
import type { FrontNetwork } from './front-network.js'

/** One node of a VIP pair: its place on the front network, and its nginx's and keepalived's files. */
export interface VipPairNode extends FrontNode {
  /** `http://<address>:<port>`: this nginx, whether or not it holds the VIP. */
  readonly url: string
  /** `<dir>/<name>` */
  readonly dir: string
  readonly nginxConf: string
  readonly nginxPid: string
  /** nginx's error log (and its stdout). */
  readonly nginxLog: string
  readonly keepalivedConf: string
  /** keepalived's console log: VRRP state changes. */
  readonly keepalivedLog: string
  readonly keepalivedPid: string
  readonly vrrpPid: string
}

/** Paths and URLs of both nodes under `dir`: the same network, port and dir always give the same layout. */
export function vipPairLayout(network: FrontNetwork, port: number, dir: string): [VipPairNode, VipPairNode] {
  const node = (front: FrontNode): VipPairNode => {
    const own = join(dir, front.name)
    return {
      name: front.name,
      namespace: front.namespace,
      interface: front.interface,
      address: front.address,
      url: `http://${front.address}:${port}`,
      dir: own,
      nginxConf: join(own, 'nginx.conf'),
      nginxPid: join(own, 'nginx.pid'),
      nginxLog: join(own, 'nginx.log'),
      keepalivedConf: join(own, 'keepalived.conf'),
      keepalivedLog: join(own, 'keepalived.log'),
      keepalivedPid: join(own, 'keepalived.pid'),
      vrrpPid: join(own, 'vrrp.pid'),
    }
  }
  return [node(network.nodes[0]), node(network.nodes[1])]
}
