import { checkEndpoints } from '../validate.js'
import type { DiscoveredEndpoint, Discovery } from './discovery.js'

/**
 * A fixed set of endpoints: what `new Balancer({ endpoints })` uses.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an entry is not an http(s) origin.
 * @example
 * const balancer = new Balancer({ discovery: staticDiscovery(['http://10.0.0.1:8080', 'http://10.0.0.2:8080']) })
 */
export function staticDiscovery(endpoints: readonly (string | DiscoveredEndpoint)[]): Discovery {
  const list = Object.freeze(checkEndpoints(endpoints, 'endpoints'))
  return Object.freeze({
    name: 'static',
    watch(listener: { update(endpoints: readonly DiscoveredEndpoint[]): void }) {
      listener.update(list)
    },
  })
}
