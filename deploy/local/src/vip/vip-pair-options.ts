import { existsSync } from 'node:fs'
import { StackError } from '../errors.js'
import { binaries } from '../paths.js'
import { parseIpv4 } from './cidr.js'

/** What `startVipPair` takes. Every default is in {@link vipPairDefaults}. */
export interface VipPairOptions {
  /** Upstreams for `location /`, e.g. `http://10.231.7.1:8080` (reachable from the namespaces); without any, `/` answers 404. @default [] */
  backends?: readonly string[]
  /** Where both nginx listen, on the VIP and on their own address. @default 8088 */
  port?: number
  /** Configurations, pid files and logs: `lb1/`, `lb2/`. @default a new `mkdtemp` directory under /tmp */
  dir?: string
  /** VRRP's `virtual_router_id` (1–255). @default 51 */
  virtualRouterId?: number
  /**
   * VRRP `priority` of lb1 and lb2: the higher holds the VIP while both are healthy. lb2's is high
   * because, told by lb1's priority-0 advert that lb1 gave the VIP up, it waits its skew time,
   * (256 − priority) × advertIntS / 256, before taking it: a SYN sent in that gap is lost. @default [250, 200]
   */
  priorities?: readonly [number, number]
  /** Seconds between VRRP adverts (VRRPv3: fractions to 0.01); a silent master is replaced after 3 of them. @default 0.2 */
  advertIntS?: number
  /** Seconds between two runs of the health check of each nginx (keepalived 2.2 takes whole seconds). @default 1 */
  checkIntervalS?: number
  /** Bounds each nginx becoming healthy, then lb1 taking the VIP. @default 15000 */
  startTimeoutMs?: number
  /** How long a process may take to exit on SIGTERM before it is killed. @default 5000 */
  stopTimeoutMs?: number
  /** Told of each step, one line each. @default silent */
  log?: (line: string) => void
}

/** One upstream of {@link VipPairOptions.backends}. */
export interface VipBackend {
  readonly host: string
  readonly port: number
}

/** {@link VipPairOptions} resolved: every field set (but `dir`), validated, frozen. */
export interface ResolvedVipPairOptions {
  readonly backends: readonly VipBackend[]
  readonly port: number
  readonly dir: string | undefined
  readonly virtualRouterId: number
  readonly priorities: readonly [number, number]
  readonly advertIntS: number
  readonly checkIntervalS: number
  readonly startTimeoutMs: number
  readonly stopTimeoutMs: number
  readonly log: (line: string) => void
  readonly nginxBin: string
  readonly keepalivedBin: string
  readonly curlBin: string
}

/** The defaults of {@link VipPairOptions}, and the binaries (Debian's `nginx`, `keepalived`, `curl`). */
export const vipPairDefaults = Object.freeze({
  port: 8088,
  virtualRouterId: 51,
  priorities: Object.freeze([250, 200] as const),
  advertIntS: 0.2,
  checkIntervalS: 1,
  startTimeoutMs: 15_000,
  stopTimeoutMs: 5_000,
  nginxBin: binaries.nginx,
  keepalivedBin: '/usr/sbin/keepalived',
  curlBin: '/usr/bin/curl',
})

/** Applies the defaults and checks every option; the message of `E_INVALID_OPTION` names the bad one. */
export function resolveVipPairOptions(options: VipPairOptions = {}): ResolvedVipPairOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const merged = { ...vipPairDefaults, dir: undefined, log: () => {}, ...given } as Omit<
    ResolvedVipPairOptions,
    'backends'
  > & { backends?: readonly string[] }
  const backends = Object.freeze((merged.backends ?? []).map(parseBackend))
  integer('port', merged.port, 1, 65_535)
  integer('virtualRouterId', merged.virtualRouterId, 1, 255)
  const [p1, p2] = merged.priorities
  if (!Number.isInteger(p1) || !Number.isInteger(p2) || p1! < 1 || p2! < 1 || p1! > 254 || p2! > 254) {
    throw invalid('priorities', 'must be two integers in 1..254')
  }
  if (!(p1! > p2!)) throw invalid('priorities', `must put lb1 above lb2, got [${p1}, ${p2}]`)
  const centis = Math.round(merged.advertIntS * 100)
  if (!(centis >= 1 && centis <= 4095) || Math.abs(centis - merged.advertIntS * 100) > 1e-6) {
    throw invalid('advertIntS', `must be 0.01..40.95 in steps of 0.01, got ${merged.advertIntS}`)
  }
  integer('checkIntervalS', merged.checkIntervalS, 1, 3600)
  for (const name of ['startTimeoutMs', 'stopTimeoutMs'] as const) {
    if (!(merged[name] > 0)) throw invalid(name, 'must be a positive number')
  }
  return Object.freeze({ ...merged, backends, priorities: Object.freeze([p1!, p2!] as const) })
}

/** Fails with the package to install when nginx, keepalived or curl (the health check) is missing. */
export function requireVipBinaries(options: ResolvedVipPairOptions): void {
  const checks: Array<[string, string]> = [
    [options.nginxBin, 'nginx'],
    [options.keepalivedBin, 'keepalived'],
    [options.curlBin, 'curl'],
  ]
  for (const [path, pkg] of checks) {
    if (!existsSync(path)) {
      throw new StackError('E_MISSING_BINARY', `${path} is not installed: apt-get install ${pkg}`, {
        command: path,
      })
    }
  }
}

function parseBackend(url: string): VipBackend {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  const host = parsed?.hostname ?? ''
  if (
    parsed?.protocol !== 'http:' ||
    parsed.pathname !== '/' ||
    parsed.search ||
    parseIpv4(host) === undefined
  ) {
    throw invalid('backends', `must be http://<IPv4>:<port> URLs with no path, got '${url}'`)
  }
  return { host, port: parsed.port ? Number(parsed.port) : 80 }
}

function integer(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `must be an integer in ${min}..${max}, got ${value}`)
  }
}

function invalid(name: string, rule: string): StackError {
  return new StackError('E_INVALID_OPTION', `options.${name} ${rule}`, { option: `options.${name}` })
}
