import { resolve } from 'node:path'

/** Everything the microblog reads from its environment, validated once at start. */
export interface MicroblogConfig {
  /** `HF_HOST` @default '127.0.0.1' */
  host: string
  /** `HF_PORT` (0 picks a free port) @default 8080 */
  port: number
  /** `HF_DATABASE_URL`: a PostgreSQL server. When unset, PGlite runs in-process under `dataDir`. */
  databaseUrl: string | undefined
  /** `HF_DATABASE_REPLICA_URLS`: comma-separated streaming replicas of `HF_DATABASE_URL`; reads go there. */
  replicaUrls: string[]
  /** `HF_DB_MAX_LAG_MS`: a replica further behind leaves read rotation. @default 1000 */
  maxLagMs: number
  /** `HF_DATA_DIR`: where the embedded database lives. @default './data' */
  dataDir: string
  /** `HF_DB_POOL_MAX`: sessions per database server. @default 20 */
  dbPoolMax: number
  /** `HF_WORKER_ID`: this process's Snowflake worker id (0–1023). @default 1 */
  workerId: number
  /** `HF_WRK2_API=on` mounts the DeathStarBench-compatible `/wrk2-api/*`. @default false */
  wrk2Api: boolean
  /** `HF_CEILING_ROUTE=on` mounts `GET /ceiling`, a fixed 1 KB body for measuring the stack itself. @default false */
  ceilingRoute: boolean
  /** `HF_BODY_LIMIT` in bytes. @default 65536 */
  bodyLimit: number
  /** `HF_TOKEN_TTL_S`: lifetime of a bearer token. @default 86400 */
  tokenTtlSeconds: number
  /** `HF_LOG_LEVEL` (pino levels, or 'silent'). @default 'info' */
  logLevel: string
  /** `HF_CACHE=off` reads straight from the database (post bodies, profiles, user timelines). @default on */
  cache: boolean
  /** `HF_REDIS_URL`: the cache's shared tier and invalidation bus. When unset, both run in-process. */
  redisUrl: string | undefined
  /**
   * `HF_QUEUE=on`: compose and follow go through a queue and answer once it has stored them (compose:
   * `202 Accepted`); consumers persist posts and fan them out to home timelines kept as sorted sets.
   * @default on when `HF_NATS_URL` is set, else off
   */
  queue: boolean
  /** `HF_NATS_URL`: the JetStream broker of the queue. When unset, the queue runs in-process. */
  natsUrl: string | undefined
  /** `HF_CONSUMERS=off`: this process only publishes; other processes consume. @default on */
  consumers: boolean
  /** `HF_QUEUE_MAX_BACKLOG`: above this many unconsumed posts, compose answers 503 with Retry-After. @default 20000 */
  queueMaxBacklog: number
  /** `HF_QUEUE_BACKOFF_MS`: waits before redelivering a failed message (the first is also its ack wait). @default [2000, 4000, 8000] */
  queueBackoffMs: number[]
  /** `HF_QUEUE_MAX_DELIVERIES`: deliveries before a message that keeps failing goes to the dead-letter stream. @default 4 */
  queueMaxDeliveries: number
  /**
   * `HF_NAMESPACE`: names this deployment's streams (`<ns>_posts`, `<ns>_follows`) and home-timeline keys
   * (`hf:<ns>:home:<user>`), so several deployments (or test runs) can share one broker and one Redis.
   * @default 'mb'
   */
  namespace: string
  /** `HF_HOME_TIMELINE_MAX`: entries kept per home timeline (older pages are read by query). @default 800 */
  homeTimelineMax: number
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'E_CONFIG'
}

const logLevels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/**
 * Reads `HF_*` variables. Every value is checked here so a typo fails at start, naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MicroblogConfig {
  const config: MicroblogConfig = {
    host: env['HF_HOST'] || '127.0.0.1',
    port: integer(env, 'HF_PORT', 8080, 0, 65535),
    databaseUrl: env['HF_DATABASE_URL'] || undefined,
    replicaUrls: (env['HF_DATABASE_REPLICA_URLS'] ?? '')
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url.length > 0),
    maxLagMs: integer(env, 'HF_DB_MAX_LAG_MS', 1000, 0, 3_600_000),
    dataDir: resolve(env['HF_DATA_DIR'] || 'data'),
    dbPoolMax: integer(env, 'HF_DB_POOL_MAX', 20, 1, 1000),
    workerId: integer(env, 'HF_WORKER_ID', 1, 0, 1023),
    wrk2Api: flag(env, 'HF_WRK2_API'),
    ceilingRoute: flag(env, 'HF_CEILING_ROUTE'),
    bodyLimit: integer(env, 'HF_BODY_LIMIT', 64 * 1024, 1024, 16 * 1024 * 1024),
    tokenTtlSeconds: integer(env, 'HF_TOKEN_TTL_S', 86_400, 60, 30 * 86_400),
    logLevel: env['HF_LOG_LEVEL'] || 'info',
    cache: env['HF_CACHE'] === undefined || env['HF_CACHE'] === '' ? true : flag(env, 'HF_CACHE'),
    redisUrl: env['HF_REDIS_URL'] || undefined,
    queue:
      env['HF_QUEUE'] === undefined || env['HF_QUEUE'] === '' ? !!env['HF_NATS_URL'] : flag(env, 'HF_QUEUE'),
    natsUrl: env['HF_NATS_URL'] || undefined,
    consumers:
      env['HF_CONSUMERS'] === undefined || env['HF_CONSUMERS'] === '' ? true : flag(env, 'HF_CONSUMERS'),
    queueMaxBacklog: integer(env, 'HF_QUEUE_MAX_BACKLOG', 20_000, 1, 100_000_000),
    queueBackoffMs: durations(env, 'HF_QUEUE_BACKOFF_MS', [2000, 4000, 8000]),
    queueMaxDeliveries: integer(env, 'HF_QUEUE_MAX_DELIVERIES', 4, 1, 100),
    namespace: env['HF_NAMESPACE'] || 'mb',
    homeTimelineMax: integer(env, 'HF_HOME_TIMELINE_MAX', 800, 10, 100_000),
  }
  if (!/^[a-z0-9_]{1,32}$/.test(config.namespace)) {
    throw new ConfigError('HF_NAMESPACE must be 1-32 lowercase letters, digits or _')
  }
  if (config.natsUrl !== undefined && !/^(nats|tls):\/\/[^/]+$/.test(config.natsUrl)) {
    throw new ConfigError('HF_NATS_URL must be a nats:// URL (host and port)')
  }
  if (config.redisUrl !== undefined && !/^rediss?:\/\//.test(config.redisUrl)) {
    throw new ConfigError('HF_REDIS_URL must be a redis:// or rediss:// URL')
  }
  if (config.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    throw new ConfigError('HF_DATABASE_URL must be a postgres:// or postgresql:// URL')
  }
  for (const url of config.replicaUrls) {
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new ConfigError('HF_DATABASE_REPLICA_URLS must list postgres:// URLs')
  }
  if (config.replicaUrls.length > 0 && config.databaseUrl === undefined) {
    throw new ConfigError('HF_DATABASE_REPLICA_URLS needs HF_DATABASE_URL (the primary)')
  }
  if (!logLevels.has(config.logLevel)) {
    throw new ConfigError(`HF_LOG_LEVEL must be one of ${[...logLevels].join(', ')}`)
  }
  return Object.freeze(config)
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got '${raw}'`)
  }
  return value
}

function durations(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,7}(,\d{1,7}){0,9}$/.test(raw) || raw.split(',').some((ms) => Number(ms) < 10)) {
    throw new ConfigError(`${name} must be 1-10 comma-separated milliseconds, each at least 10, got '${raw}'`)
  }
  return raw.split(',').map(Number)
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase()
  if (raw === '' || raw === 'off' || raw === '0' || raw === 'false') return false
  if (raw === 'on' || raw === '1' || raw === 'true') return true
  throw new ConfigError(`${name} must be 'on' or 'off', got '${env[name]}'`)
}
