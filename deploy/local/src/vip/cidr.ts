/** An IPv4 network: its first address as an unsigned 32-bit integer and its prefix length. */
export interface Cidr {
  readonly base: number
  readonly bits: number
}

/** `10.231.7.1` as an unsigned 32-bit integer, or undefined when it is not a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    return undefined
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0)
}

/** The dotted quad of an unsigned 32-bit integer. */
export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.')
}

/** The netmask of a prefix length, as an unsigned 32-bit integer. */
export function netmask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
}

/**
 * `10.231.0.0/16`, a bare address (a /32, as `ip route` prints host routes) or `default` (0/0), or
 * undefined. Host bits below the prefix are cleared.
 */
export function parseCidr(text: string): Cidr | undefined {
  if (text === 'default') return { base: 0, bits: 0 }
  const [address = '', prefix, ...rest] = text.split('/')
  if (rest.length > 0) return undefined
  const ip = parseIpv4(address)
  const bits = prefix === undefined ? 32 : /^\d{1,2}$/.test(prefix) ? Number(prefix) : Number.NaN
  if (ip === undefined || !(bits >= 0 && bits <= 32)) return undefined
  return { base: (ip & netmask(bits)) >>> 0, bits }
}

/** Whether two networks share an address (one contains the other: IPv4 prefixes never partly overlap). */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  const mask = netmask(Math.min(a.bits, b.bits))
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0
}

/** `base/bits`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.bits}`
}

/** The private ranges of RFC 1918: a test subnet must lie in one, so nothing it sends can be routed out. */
export const privateRanges: readonly Cidr[] = Object.freeze(
  ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((r) => parseCidr(r)!),
)
