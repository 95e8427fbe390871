import { resolve } from 'node:path'
import { StackError } from './errors.js'

/** What `stackUp` takes. Unset fields come from the `HF_STACK_*` variables of `env`, then `stackDefaults`. */
export interface StackOptions {
  /** Where everything lives: clusters, stores, configuration, logs, `stack.json`. `HF_STACK_DIR`. @default '/var/tmp/hundredfold-stack' */
  dir?: string
  /** Stateless microblog processes behind nginx. `HF_STACK_APPS`. @default 2 */
  apps?: number
  /** Streaming replicas of the PostgreSQL primary. `HF_STACK_REPLICAS`. @default 2 */
  replicas?: number
  /** Consumer processes (`HF_CONSUMERS=on`, `nice 10`), outside nginx's upstream. `HF_STACK_CONSUMERS`. @default 1 */
  consumers?: number
  /** nginx's port, the one the world talks to. `HF_STACK_PORT`. @default 8088 */
  port?: number
  /** First port of the internal block (PostgreSQL +0…, Redis +10, NATS +20/+21, ID service +30…, consumers +40…, apps +100…). `HF_STACK_BASE_PORT`. @default 18000 */
  basePort?: number
  /** The apps' `HF_DRAIN_MS`: how long a stopping app keeps serving with readiness 503. @default `HF_DRAIN_MS`, else 1000 */
  drainMs?: number
  /** Where the `HF_*` settings come from: the apps get every `HF_*` of it (but the stack's own). @default process.env */
  env?: NodeJS.ProcessEnv
  /** Told of each step, one line each. @default silent */
  log?: (line: string) => void
  /**
   * PostgreSQL under Patroni over a 3-member etcd: a primary and `replicas` streaming replicas that
   * Patroni fails over on its own; the apps find the primary by asking each member. `HF_STACK_HA=on`.
   * @default false
   */
  ha?: boolean
  /**
   * A floating address in front of nginx: two nginx in two network namespaces, keepalived holding a
   * VIP between them, both passing to the stack's nginx (see `stack-vip.ts`). Needs root and
   * keepalived. `HF_STACK_VIP=on`. @default false
   */
  vip?: boolean
  /** With `ha`: Patroni's synchronous mode, one synchronous standby (a commit waits for it). `HF_PG_SYNC=on`. @default false */
  pgSync?: boolean
  /** Bounds each health wait. @default 60000 */
  healthTimeoutMs?: number
  /** Stops `up` between two steps (what started keeps running: `down` stops it). */
  signal?: AbortSignal
}

/** `StackOptions` resolved: every field set, validated, frozen. */
export interface ResolvedStackOptions {
  readonly dir: string
  readonly apps: number
  readonly replicas: number
  readonly consumers: number
  readonly port: number
  readonly basePort: number
  readonly drainMs: number
  readonly ha: boolean
  readonly pgSync: boolean
  readonly vip: boolean
  readonly env: NodeJS.ProcessEnv
  readonly log: (line: string) => void
  readonly healthTimeoutMs: number
}

/** The defaults of `StackOptions`. */
export const stackDefaults = Object.freeze({
  dir: '/var/tmp/hundredfold-stack',
  apps: 2,
  replicas: 2,
  consumers: 1,
  port: 8088,
  basePort: 18_000,
  drainMs: 1000,
  healthTimeoutMs: 60_000,
})

/** How many of each the port layout has room for. */
export const limits = Object.freeze({ apps: 50, replicas: 9, consumers: 10 })

/** The directory a command acts on: `dir`, else `HF_STACK_DIR`, else the default. */
export function stackDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(dir ?? (env['HF_STACK_DIR'] || stackDefaults.dir))
}

/**
 * Resolves options: explicit fields win over `HF_STACK_*` variables, which win over the settings the
 * stack in `dir` already runs with (`previous`), which win over the defaults. A bad value fails here
 * with a message naming the option or the variable.
 */
export function resolveStackOptions(
  options: StackOptions = {},
  previous?: Partial<Record<'apps' | 'replicas' | 'consumers' | 'port' | 'basePort' | 'drainMs', number>> & {
    ha?: boolean
    pgSync?: boolean
    vip?: boolean
  },
): ResolvedStackOptions {
  const env = options.env ?? process.env
  type IntegerField = 'apps' | 'replicas' | 'consumers' | 'port' | 'basePort' | 'drainMs'
  const int = (field: IntegerField, variable: string, fallback: number, min: number, max: number) => {
    const given = options[field]
    const raw = given !== undefined ? String(given) : env[variable]
    const name = given !== undefined ? `options.${field}` : variable
    if (raw === undefined || raw === '') return previous?.[field] ?? fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new StackError('E_INVALID_OPTION', `${name} must be an integer in ${min}..${max}, got '${raw}'`, {
        option: name,
      })
    }
    return value
  }
  const onOff = (field: 'ha' | 'pgSync' | 'vip', variable: string): boolean => {
    const given = options[field]
    if (given !== undefined) return given
    const raw = env[variable]
    if (raw === undefined || raw === '') return previous?.[field] ?? false
    if (raw === 'on' || raw === 'off') return raw === 'on'
    throw new StackError('E_INVALID_OPTION', `${variable} must be on or off, got '${raw}'`, {
      option: variable,
    })
  }
  const resolved: ResolvedStackOptions = {
    dir: stackDir(options.dir, env),
    apps: int('apps', 'HF_STACK_APPS', stackDefaults.apps, 1, limits.apps),
    replicas: int('replicas', 'HF_STACK_REPLICAS', stackDefaults.replicas, 0, limits.replicas),
    consumers: int('consumers', 'HF_STACK_CONSUMERS', stackDefaults.consumers, 0, limits.consumers),
    port: int('port', 'HF_STACK_PORT', stackDefaults.port, 1, 65_535),
    basePort: int('basePort', 'HF_STACK_BASE_PORT', stackDefaults.basePort, 1024, 65_535 - 200),
    drainMs: int('drainMs', 'HF_DRAIN_MS', stackDefaults.drainMs, 0, 60_000),
    ha: onOff('ha', 'HF_STACK_HA'),
    pgSync: onOff('pgSync', 'HF_PG_SYNC'),
    vip: onOff('vip', 'HF_STACK_VIP'),
    env,
    log: options.log ?? (() => {}),
    healthTimeoutMs: options.healthTimeoutMs ?? stackDefaults.healthTimeoutMs,
  }
  const block = internalBlock(resolved)
  if (resolved.port >= resolved.basePort && resolved.port < resolved.basePort + block) {
    throw new StackError(
      'E_INVALID_OPTION',
      `the front port ${resolved.port} falls in the internal block ${resolved.basePort}..${resolved.basePort + block - 1}`,
      { option: 'port' },
    )
  }
  if (resolved.pgSync && !resolved.ha) {
    throw new StackError(
      'E_INVALID_OPTION',
      'HF_PG_SYNC=on needs --ha (Patroni runs the synchronous standby)',
      {
        option: 'HF_PG_SYNC',
      },
    )
  }
  if (resolved.ha && resolved.replicas < 1) {
    throw new StackError('E_INVALID_OPTION', '--ha needs at least one replica to fail over to', {
      option: '--replicas',
    })
  }
  if (!(resolved.healthTimeoutMs > 0)) {
    throw new StackError('E_INVALID_OPTION', 'options.healthTimeoutMs must be positive', {
      option: 'options.healthTimeoutMs',
    })
  }
  return Object.freeze(resolved)
}

/** How many ports from `basePort` the stack takes: 150, and 50 more with `ha` (etcd, Patroni, from +150). */
export function internalBlock(options: { readonly ha: boolean }): number {
  return options.ha ? 200 : 150
}
