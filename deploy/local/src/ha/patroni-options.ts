import { StackError } from '../errors.js'
import { binaries } from '../paths.js'

/** What `startPatroniCluster` takes. Every default is in {@link patroniDefaults}. */
export interface PatroniClusterOptions {
  /** Where the data directories, configurations and logs go. @default a new `mkdtemp` directory under /tmp */
  dir?: string
  /** First port of the block: etcd clients +0…, etcd peers +10…, PostgreSQL +20…, Patroni's REST API +30…. @default 18200 */
  basePort?: number
  /** PostgreSQL members, each run by its own Patroni (one primary, the rest streaming replicas). @default 3 */
  members?: number
  /** etcd members (odd: a majority must stay up). @default 3 */
  etcdMembers?: number
  /** Patroni's `synchronous_mode`: one synchronous standby, and a commit waits for it. @default false */
  synchronous?: boolean
  /** Patroni's `scope`: the cluster's name in etcd. @default 'hundredfold' */
  scope?: string
  /** Seconds the leader key lives without a refresh: the floor of a failover after a crash. @default 10 */
  ttl?: number
  /** Seconds Patroni sleeps between two rounds of its loop. @default 1 */
  loopWait?: number
  /** Seconds Patroni retries etcd and PostgreSQL before it gives up (`loopWait + 2 × retryTimeout ≤ ttl`). @default 4 */
  retryTimeout?: number
  /** Bytes a replica may be behind and still be promoted. @default 1048576 */
  maximumLagOnFailover?: number
  /** `postgresql.parameters` over {@link patroniDefaults}`.parameters`, e.g. `{ work_mem: '8MB' }`. @default {} */
  parameters?: Readonly<Record<string, string | number | boolean>>
  /** Bounds each member's start: etcd healthy, then PostgreSQL running under Patroni. @default 60000 */
  startTimeoutMs?: number
  /** How long a process may take to exit on SIGTERM before it is killed. @default 30000 */
  stopTimeoutMs?: number
  /** Told of each step, one line each. @default silent */
  log?: (line: string) => void
}

/** {@link PatroniClusterOptions} resolved: every field set (but `dir`), validated, frozen. */
export interface ResolvedPatroniOptions {
  readonly dir: string | undefined
  readonly basePort: number
  readonly members: number
  readonly etcdMembers: number
  readonly synchronous: boolean
  readonly scope: string
  readonly ttl: number
  readonly loopWait: number
  readonly retryTimeout: number
  readonly maximumLagOnFailover: number
  readonly parameters: Readonly<Record<string, string | number | boolean>>
  readonly startTimeoutMs: number
  readonly stopTimeoutMs: number
  readonly log: (line: string) => void
  readonly patroniBin: string
  readonly etcdBin: string
  readonly pgBin: string
}

/** The defaults of {@link PatroniClusterOptions}, and the binaries (Debian's `patroni`, `etcd-server`, `postgresql-15`). */
export const patroniDefaults = Object.freeze({
  basePort: 18_200,
  members: 3,
  etcdMembers: 3,
  synchronous: false,
  scope: 'hundredfold',
  ttl: 10,
  loopWait: 1,
  retryTimeout: 4,
  maximumLagOnFailover: 1_048_576,
  startTimeoutMs: 60_000,
  stopTimeoutMs: 30_000,
  patroniBin: '/usr/bin/patroni',
  etcdBin: '/usr/bin/etcd',
  pgBin: binaries.pgBin,
  /** Sized for a loopback test on a small machine; `max_connections` and the WAL settings are cluster-wide. */
  parameters: Object.freeze({
    max_connections: 200,
    shared_buffers: '32MB',
    wal_level: 'replica',
    hot_standby: 'on',
    hot_standby_feedback: 'on',
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: '128MB',
    wal_log_hints: 'on',
  } as Record<string, string | number | boolean>),
})

/** How many members of each the port block has room for. */
export const patroniLimits = Object.freeze({ members: 9, etcdMembers: 9 })

/** Applies the defaults and checks every option; the message of `E_INVALID_OPTION` names the bad one. */
export function resolvePatroniOptions(options: PatroniClusterOptions = {}): ResolvedPatroniOptions {
  const given = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as PatroniClusterOptions
  const merged = { ...patroniDefaults, log: () => {}, dir: undefined, ...given }
  const resolved: ResolvedPatroniOptions = {
    ...merged,
    parameters: Object.freeze({ ...patroniDefaults.parameters, ...options.parameters }),
  }
  integer('basePort', resolved.basePort, 1024, 65_535 - 40)
  integer('members', resolved.members, 1, patroniLimits.members)
  integer('etcdMembers', resolved.etcdMembers, 1, patroniLimits.etcdMembers)
  if (resolved.etcdMembers % 2 === 0) throw invalid('etcdMembers', 'must be odd (1, 3, 5…)')
  integer('ttl', resolved.ttl, 2, 3600)
  integer('loopWait', resolved.loopWait, 1, 3600)
  integer('retryTimeout', resolved.retryTimeout, 1, 3600)
  integer('maximumLagOnFailover', resolved.maximumLagOnFailover, 0, Number.MAX_SAFE_INTEGER)
  if (resolved.loopWait + 2 * resolved.retryTimeout > resolved.ttl) {
    throw invalid(
      'ttl',
      `must be at least loopWait + 2 × retryTimeout (${resolved.loopWait} + 2 × ${resolved.retryTimeout}), got ${resolved.ttl}`,
    )
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(resolved.scope)) {
    throw invalid('scope', `must be letters, digits, '-' and '_', got '${resolved.scope}'`)
  }
  for (const name of Object.keys(resolved.parameters)) {
    if (!/^[a-z_][a-z0-9_.]*$/.test(name))
      throw invalid('parameters', `has an invalid setting name '${name}'`)
  }
  for (const name of ['startTimeoutMs', 'stopTimeoutMs'] as const) {
    if (!(resolved[name] > 0)) throw invalid(name, 'must be a positive number')
  }
  if (typeof resolved.synchronous !== 'boolean') throw invalid('synchronous', 'must be a boolean')
  return Object.freeze(resolved)
}

function integer(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `must be an integer in ${min}..${max}, got ${value}`)
  }
}

function invalid(name: string, rule: string): StackError {
  return new StackError('E_INVALID_OPTION', `options.${name} ${rule}`, { option: `options.${name}` })
}
