import { StackError } from '../errors.js'
import { type Cidr, cidrOverlaps, formatCidr, parseCidr } from './cidr.js'
import { frontDefaults } from './front-options.js'
import { type IpCall, ipJson } from './ip-command.js'

/** Every IPv4 destination the root namespace routes, in every table (`ip -4 route show table all`). */
export async function routedNetworks(call: IpCall): Promise<Array<{ network: Cidr; text: string }>> {
  const routes = await ipJson<Array<{ dst?: string; dev?: string }>>(
    ['-4', 'route', 'show', 'table', 'all'],
    call,
  )
  return routes.flatMap((route) => {
    const network = route.dst === undefined ? undefined : parseCidr(route.dst)
    return network ? [{ network, text: `${route.dst}${route.dev ? ` dev ${route.dev}` : ''}` }] : []
  })
}

/**
 * The /24 to use: `wanted` if no route overlaps it, else the first /24 of `pool` none overlaps,
 * starting from one that `id` picks (two networks made at once rarely try the same). A default
 * route overlaps everything and is not counted. `E_INVALID_OPTION` when there is none.
 */
export function chooseSubnet(
  routes: ReadonlyArray<{ network: Cidr; text: string }>,
  id: string,
  wanted?: Cidr,
  pool: Cidr = parseCidr(frontDefaults.pool)!,
): Cidr {
  const specific = routes.filter((r) => r.network.bits > 0)
  const clash = (candidate: Cidr) => specific.find((r) => cidrOverlaps(r.network, candidate))
  if (wanted) {
    const route = clash(wanted)
    if (!route) return wanted
    throw new StackError(
      'E_INVALID_OPTION',
      `options.subnet ${formatCidr(wanted)} overlaps the route ${route.text}: pick another`,
      { option: 'options.subnet' },
    )
  }
  const count = 2 ** (24 - pool.bits)
  let start = 0
  for (const char of id) start = (start * 31 + char.charCodeAt(0)) % count
  for (let i = 0; i < count; i++) {
    const n = (start + i) % count
    // .0 and .255 of a /16 pool are legal /24s but look like mistakes in a listing: skip them.
    if (pool.bits === 16 && (n === 0 || n === 255)) continue
    const candidate = { base: pool.base + n * 256, bits: 24 }
    if (!clash(candidate)) return candidate
  }
  throw new StackError(
    'E_INVALID_OPTION',
    `options.subnet: every /24 of ${formatCidr(pool)} overlaps a route; give one`,
    { option: 'options.subnet' },
  )
}
