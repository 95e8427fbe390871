import { formatIpv4 } from './cidr.js'

/** The host part of each address on the front's /24: the client (root namespace), lb1, lb2, the VIP. */
export const frontHosts = Object.freeze({ client: 1, lb1: 11, lb2: 12, vip: 100 })

/** One of the two load-balancer hosts: a namespace with one veth into the bridge. */
export interface FrontNode {
  /** `lb1`, `lb2`: also the name of its bridge port in the bridge's namespace. */
  readonly name: 'lb1' | 'lb2'
  /** `hf<id>-lb1` */
  readonly namespace: string
  /** The veth end inside the namespace: `eth0`. */
  readonly interface: string
  /** Its own address on the front subnet, e.g. `10.231.7.11`. */
  readonly address: string
}

/** Every name and address of a front network; the same id and subnet always give the same layout. */
export interface FrontLayout {
  readonly id: string
  /** `10.231.7.0/24` */
  readonly subnet: string
  readonly prefixLength: 24
  /** `hf<id>-br`: holds the bridge and its ports, and nothing else. */
  readonly bridgeNamespace: string
  /** The bridge, inside {@link bridgeNamespace}. */
  readonly bridge: string
  /** `hf<id>-c`: the client's veth end in the root namespace. */
  readonly clientInterface: string
  /** The bridge port of the client's veth, inside {@link bridgeNamespace}. */
  readonly clientPort: string
  /** The root namespace's address on the bridge, e.g. `10.231.7.1`. */
  readonly clientAddress: string
  /** The floating address, e.g. `10.231.7.100`. */
  readonly vip: string
  readonly nodes: readonly [FrontNode, FrontNode]
}

/** Names from `id` (1–8 of `[a-z0-9]`: every name stays within Linux's 15 characters), addresses from the /24 at `base`. */
export function frontLayout(id: string, base: number): FrontLayout {
  const at = (host: number) => formatIpv4(base + host)
  const node = (name: 'lb1' | 'lb2'): FrontNode => ({
    name,
    namespace: `hf${id}-${name}`,
    interface: 'eth0',
    address: at(frontHosts[name]),
  })
  return {
    id,
    subnet: `${formatIpv4(base)}/24`,
    prefixLength: 24,
    bridgeNamespace: `hf${id}-br`,
    bridge: 'br0',
    clientInterface: `hf${id}-c`,
    clientPort: 'client',
    clientAddress: at(frontHosts.client),
    vip: at(frontHosts.vip),
    nodes: [node('lb1'), node('lb2')],
  }
}

/** The namespaces a front network makes, the bridge's last. */
export function frontNamespaces(layout: FrontLayout): string[] {
  return [...layout.nodes.map((n) => n.namespace), layout.bridgeNamespace]
}
