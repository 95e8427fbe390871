import { hostname } from 'node:os'
import { IdError, statefulSetOrdinal } from '@hundredfold/id'

/** What `hundredfold-id-service` reads from its environment. */
export interface IdServiceConfig {
  /** `HF_ID_HOST` @default '127.0.0.1' */
  host: string
  /** `HF_ID_PORT` (0 picks a free port) @default 8790 */
  port: number
  /** `HF_DATABASE_URL`: lease worker ids in this PostgreSQL database. Unset: the fixed `workerId`. */
  databaseUrl: string | undefined
  /**
   * `HF_DATABASE_HOSTS`: comma-separated URLs of every member of a replicated cluster (Patroni's),
   * roles discovered, so the lease follows a failover. Instead of `HF_DATABASE_URL`. @default []
   */
  databaseHosts: readonly string[]
  /** `HF_WORKER_ID`: the fixed worker id when there is no database (one process only). @default 1 */
  workerId: number
  /** `HF_ID_LEASE_TTL_MS` @default 10000 */
  leaseTtlMs: number
  /** `HF_ID_QUARANTINE_MS` @default 1000 */
  quarantineMs: number
  /** `HF_ID_HINT`: preferred worker id; else the StatefulSet ordinal of the hostname, if any. */
  hint: number | undefined
  /** `HF_ID_MAX_BACKWARDS_MS`: backward clock steps waited out. @default 5 */
  maxBackwardsMs: number
  /** `HF_ID_MAX_COUNT`: largest `count` of `GET /ids`. @default 10000 */
  maxCount: number
  /** `HF_LOG_LEVEL`: 'silent' turns off the error log (one JSON line per unexpected error on stderr). @default 'info' */
  logLevel: string
}

/**
 * Reads `HF_*` variables; a bad value fails at start, naming the variable.
 *
 * @example
 * const config = loadIdServiceConfig({ HF_ID_PORT: '0', HF_WORKER_ID: '3' })
 */
export function loadIdServiceConfig(env: NodeJS.ProcessEnv = process.env): IdServiceConfig {
  const hint = env['HF_ID_HINT']
  const databaseHosts = (env['HF_DATABASE_HOSTS'] ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0)
  if (databaseHosts.length > 0 && env['HF_DATABASE_URL']) {
    throw new IdError('E_INVALID_OPTION', 'set HF_DATABASE_HOSTS or HF_DATABASE_URL, not both', {
      option: 'HF_DATABASE_HOSTS',
    })
  }
  return Object.freeze({
    host: env['HF_ID_HOST'] || '127.0.0.1',
    port: integer(env, 'HF_ID_PORT', 8790, 0, 65535),
    databaseUrl: env['HF_DATABASE_URL'] || undefined,
    databaseHosts: Object.freeze(databaseHosts),
    workerId: integer(env, 'HF_WORKER_ID', 1, 0, 1023),
    leaseTtlMs: integer(env, 'HF_ID_LEASE_TTL_MS', 10_000, 100, 3_600_000),
    quarantineMs: integer(env, 'HF_ID_QUARANTINE_MS', 1_000, 1, 86_400_000),
    hint: hint ? integer(env, 'HF_ID_HINT', 0, 0, 1023) : statefulSetOrdinal(hostname()),
    maxBackwardsMs: integer(env, 'HF_ID_MAX_BACKWARDS_MS', 5, 0, 1000),
    maxCount: integer(env, 'HF_ID_MAX_COUNT', 10_000, 1, 1_000_000),
    logLevel: env['HF_LOG_LEVEL'] || 'info',
  })
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new IdError('E_INVALID_OPTION', `${name} must be an integer in ${min}..${max}`, {
      option: name,
      value: raw,
    })
  }
  return value
}
