import { randomBytes } from 'node:crypto'
import { StackError } from '../errors.js'
import { type Cidr, cidrOverlaps, formatCidr, parseCidr, privateRanges } from './cidr.js'

/** What `createFrontNetwork` takes. Every default is in {@link frontDefaults}. */
export interface FrontNetworkOptions {
  /** Names everything it makes: namespaces `hf<id>-br`, `hf<id>-lb1`, `hf<id>-lb2`, link `hf<id>-c`. 1–8 of `[a-z0-9]`. @default 6 random hex digits */
  id?: string
  /** The test subnet, a private /24 such as `10.231.7.0/24`. @default the first `10.231.N.0/24` no route of the root namespace overlaps */
  subnet?: string
  /** Bound on each `ip` command. @default 10000 */
  commandTimeoutMs?: number
  /** Told of each step, one line each. @default silent */
  log?: (line: string) => void
}

/** {@link FrontNetworkOptions} resolved: every field set (but `subnet`), validated, frozen. */
export interface ResolvedFrontOptions {
  readonly id: string
  readonly subnet: Cidr | undefined
  readonly commandTimeoutMs: number
  readonly log: (line: string) => void
}

/** The defaults of {@link FrontNetworkOptions}; `pool` is where a subnet is picked when none is given. */
export const frontDefaults = Object.freeze({
  pool: '10.231.0.0/16',
  commandTimeoutMs: 10_000,
})

/** Applies the defaults and checks every option; the message of `E_INVALID_OPTION` names the bad one. */
export function resolveFrontOptions(options: FrontNetworkOptions = {}): ResolvedFrontOptions {
  const id = options.id ?? randomBytes(3).toString('hex')
  if (!/^[a-z0-9]{1,8}$/.test(id)) throw invalid('id', `must be 1–8 of [a-z0-9], got '${id}'`)
  let subnet: Cidr | undefined
  if (options.subnet !== undefined) {
    subnet = parseCidr(options.subnet)
    if (subnet?.bits !== 24 || !options.subnet.endsWith('.0/24')) {
      throw invalid('subnet', `must be a /24 such as 10.231.7.0/24, got '${options.subnet}'`)
    }
    if (!privateRanges.some((range) => range.bits <= 24 && cidrOverlaps(range, subnet!))) {
      throw invalid('subnet', `must be private (${privateRanges.map(formatCidr).join(', ')})`)
    }
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? frontDefaults.commandTimeoutMs
  if (!(commandTimeoutMs > 0)) throw invalid('commandTimeoutMs', 'must be a positive number')
  return Object.freeze({ id, subnet, commandTimeoutMs, log: options.log ?? (() => {}) })
}

function invalid(name: string, rule: string): StackError {
  return new StackError('E_INVALID_OPTION', `options.${name} ${rule}`, { option: `options.${name}` })
}
