/**
 * A floating address (VIP) for the front: a private test network of network namespaces on this
 * machine, and two nginx behind one VIP that keepalived (VRRPv3, unicast) moves to the healthy one.
 *
 * @example
 * import { createFrontNetwork, startVipPair } from './vip/index.js'
 * await using network = await createFrontNetwork({}, { signal })
 * await using pair = await startVipPair(network, { signal })
 * await fetch(`${pair.url}/whoami`) // 'lb1'
 * await pair.killNginx('lb1')
 * await pair.waitForHolder('lb2', { signal })
 */

export { type Cidr, cidrOverlaps, formatCidr, formatIpv4, parseCidr, parseIpv4 } from './cidr.js'
export { createFrontNetwork, destroyFrontNetwork } from './create-front-network.js'
export { type FrontLayout, type FrontNode, frontHosts, frontLayout } from './front-layout.js'
export type { FrontNetwork } from './front-network.js'
export {
  type FrontNetworkOptions,
  frontDefaults,
  type ResolvedFrontOptions,
  resolveFrontOptions,
} from './front-options.js'
export { type KeepalivedConfInput, renderKeepalivedConf } from './keepalived-conf.js'
export type { NodeProcesses } from './node-processes.js'
export { chooseSubnet } from './pick-subnet.js'
export { startVipPair } from './start-vip-pair.js'
export { renderVipNginxConf, type VipNginxConfInput } from './vip-nginx-conf.js'
export type { VipPair } from './vip-pair.js'
export { type VipPairNode, vipPairLayout } from './vip-pair-layout.js'
export {
  type ResolvedVipPairOptions,
  resolveVipPairOptions,
  type VipBackend,
  type VipPairOptions,
  vipPairDefaults,
} from './vip-pair-options.js'
