import { type Cidr, formatIpv4, parseCidr } from '../vip/cidr.js'
import { chooseSubnet } from '../vip/pick-subnet.js'

/** Where a replica's network is picked: one /24 of it (as a front network's is), its first /30 used. */
export const replicaNetPool = '10.232.0.0/16'

/** Every name this module gives starts with it: `hfp<id>-ns`, `hfp<id>-h` (leftovers are found by it). */
export const replicaNetPrefix = 'hfp'

/** A guard route's metric: above the kernel's own route of the /30 (0), so it counts only while the link is down. */
export const guardRouteMetric = 4000

/** Every name and address of one replica's network; the same id and base always give the same layout. */
export interface ReplicaNetLayout {
  readonly id: string
  /** `hfp<id>-ns`: the replica's "machine". */
  readonly namespace: string
  /** `hfp<id>-h`: the veth end in the root namespace, the one the drill sets down. */
  readonly hostInterface: string
  /** The veth end inside the namespace. */
  readonly namespaceInterface: 'eth0'
  /** `10.232.7.0/30` */
  readonly subnet: string
  readonly prefixLength: 30
  /** The root namespace's address on the link, e.g. `10.232.7.1`: the replica reaches the primary here. */
  readonly hostAddress: string
  /** The replica's address, e.g. `10.232.7.2`. */
  readonly replicaAddress: string
}

/** Names from `id` (6 of `[a-z0-9]`, so every name stays within Linux's 15 characters), addresses from the /30 at `base`. */
export function replicaNetLayout(id: string, base: number): ReplicaNetLayout {
  if (!/^[a-z0-9]{1,8}$/.test(id)) throw new RangeError(`id must be 1–8 of [a-z0-9], got '${id}'`)
  if (base % 4 !== 0) throw new RangeError(`base must start a /30, got ${formatIpv4(base)}`)
  return Object.freeze({
    id,
    namespace: `${replicaNetPrefix}${id}-ns`,
    hostInterface: `${replicaNetPrefix}${id}-h`,
    namespaceInterface: 'eth0',
    subnet: `${formatIpv4(base)}/30`,
    prefixLength: 30,
    hostAddress: formatIpv4(base + 1),
    replicaAddress: formatIpv4(base + 2),
  })
}

/**
 * The /30 for a new replica network: the first /30 of a /24 of {@link replicaNetPool} no route of
 * the root namespace overlaps (the front network's selection, `chooseSubnet`, on another pool).
 */
export function chooseReplicaSubnet(
  routes: ReadonlyArray<{ network: Cidr; text: string }>,
  id: string,
): Cidr {
  const slash24 = chooseSubnet(routes, id, undefined, parseCidr(replicaNetPool)!)
  return { base: slash24.base, bits: 30 }
}

/** Whether `name` is a namespace or link this module makes (`hfp<id>-ns`, `hfp<id>-h`). */
export function isReplicaNetName(name: string): boolean {
  return new RegExp(`^${replicaNetPrefix}[a-z0-9]{1,8}-(ns|h)$`).test(name)
}
