import * as dns from 'node:dns/promises'
import { BalanceError, invalidOption } from '../errors.js'
import { type DiscoveredEndpoint, type Discovery, poll } from './discovery.js'

/** The subset of `node:dns/promises` (or a `Resolver`) that {@link dnsDiscovery} uses. */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>
  resolve6(hostname: string): Promise<string[]>
  resolveSrv(
    hostname: string,
  ): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>
}

/** Options of {@link dnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** The name to resolve (`users.internal`, `_http._tcp.users.internal` for SRV). */
  hostname: string
  /** The port of every endpoint (A/AAAA; SRV records carry their own). */
  port?: number
  /** Which records. @default 'A' */
  type?: 'A' | 'AAAA' | 'SRV'
  /** How often to resolve again. @default 5_000 */
  refreshMs?: number
  /** @default 'http' */
  protocol?: 'http' | 'https'
  /** @default node:dns/promises */
  resolver?: DnsResolver
}

/**
 * Endpoints from DNS, resolved again every `refreshMs`: each A/AAAA address at `port`, or each SRV target
 * at its port and weight (the lowest priority only). A failed lookup keeps the last good set.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * const balancer = new Balancer({ discovery: dnsDiscovery({ hostname: 'users.internal', port: 8080 }) })
 */
export function dnsDiscovery(options: DnsDiscoveryOptions): Discovery {
  const { hostname, port, type = 'A', refreshMs = 5_000, protocol = 'http', resolver = dns } = options ?? {}
  if (typeof hostname !== 'string' || hostname === '') {
    throw invalidOption('options.hostname', 'must be a host name', hostname)
  }
  if (type !== 'A' && type !== 'AAAA' && type !== 'SRV')
    throw invalidOption('options.type', "must be 'A', 'AAAA' or 'SRV'", type)
  if (type !== 'SRV' && !(Number.isInteger(port) && port! > 0 && port! < 65_536)) {
    throw invalidOption('options.port', 'must be a port number (1-65535) for A and AAAA records', port)
  }
  if (!(typeof refreshMs === 'number' && refreshMs > 0))
    throw invalidOption('options.refreshMs', 'must be a positive number', refreshMs)
  if (protocol !== 'http' && protocol !== 'https')
    throw invalidOption('options.protocol', "must be 'http' or 'https'", protocol)
  const read = async (): Promise<DiscoveredEndpoint[]> => {
    if (type === 'A')
      return (await resolver.resolve4(hostname)).map((ip) => ({ origin: `${protocol}://${ip}:${port}` }))
    if (type === 'AAAA')
      return (await resolver.resolve6(hostname)).map((ip) => ({ origin: `${protocol}://[${ip}]:${port}` }))
    const records = await resolver.resolveSrv(hostname)
    const best = Math.min(...records.map((r) => r.priority))
    return records
      .filter((r) => r.priority === best)
      .map((r) => ({ origin: `${protocol}://${r.name}:${r.port}`, weight: Math.max(r.weight, 1) }))
  }
  return Object.freeze({
    name: 'dns',
    watch(listener, signal) {
      poll(read, refreshMs, listener, signal, (error) => {
        return new BalanceError(
          'E_DISCOVERY',
          `DNS ${type} lookup of ${hostname} failed`,
          { source: 'dns' },
          { cause: error },
        )
      })
    },
  } satisfies Discovery)
}
