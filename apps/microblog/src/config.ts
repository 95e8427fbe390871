import { resolve } from 'node:path'
import { ConfigError, durations, flag, integer, isLoopback, secret, yes } from './config-values.js'
import { type GuardConfig, loadGuardConfig } from './guard-config.js'

export { ConfigError, isLoopback } from './config-values.js'

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
  /**
   * `HF_DATABASE_HOSTS`: comma-separated `postgres://` URLs of every member of a replicated cluster
   * (e.g. one Patroni manages), roles unknown: each is asked whether it is the primary, and a failover
   * is followed without a restart. Instead of `HF_DATABASE_URL` + `HF_DATABASE_REPLICA_URLS`. @default unset
   */
  databaseHosts: string[]
  /** `HF_DB_MAX_LAG_MS`: a replica further behind leaves read rotation. @default 1000 */
  maxLagMs: number
  /** `HF_DATA_DIR`: where the embedded database lives. @default './data' */
  dataDir: string
  /** `HF_DB_POOL_MAX`: sessions per database server. @default 20 */
  dbPoolMax: number
  /**
   * `HF_SHARD_MAP`: a shard map file (`@hundredfold/shard`'s format) spreading the tables over its
   * databases; `HF_DATABASE_URL` is then unused. When unset, one database. @default unset
   */
  shardMap: string | undefined
  /** `HF_SHARD_POOL_MAX`: sessions per physical database of the shard map. @default 4 */
  shardPoolMax: number
  /**
   * `HF_DB_STATEMENT_TIMEOUT_MS`: the server cancels a statement running longer (`statement_timeout`);
   * an aborted request's statement is cancelled at once. @default 10000 (the request deadline)
   */
  dbStatementTimeoutMs: number
  /** `HF_WORKER_ID`: this process's Snowflake worker id (0–1023). @default 1 */
  workerId: number
  /**
   * `HF_ID_LEASE_TTL_MS`: the worker-id lease's lifetime on a database server. Ids stop (and the
   * process exits) half of it after the last renewal, so it must be more than twice the longest
   * database outage to ride out, a failover included. @default 10000
   */
  leaseTtlMs: number
  /**
   * `HF_WRK2_API=on` mounts the DeathStarBench-compatible `/wrk2-api/*`. It is unauthenticated (as
   * DeathStarBench's is), acts only on the users it registered, and refuses to start on a
   * non-loopback `HF_HOST` unless `HF_WRK2_API_PUBLIC=yes`. @default false
   */
  wrk2Api: boolean
  /** `HF_WRK2_API_PUBLIC=yes`: mount `/wrk2-api` on a non-loopback `HF_HOST` anyway. @default false */
  wrk2ApiPublic: boolean
  /** HTTP server limits, so a slow or idle client cannot hold a socket for ever. */
  http: HttpLimits
  /** `HF_CEILING_ROUTE=on` mounts `GET /ceiling`, a fixed 1 KB body for measuring the stack itself. @default false */
  ceilingRoute: boolean
  /** `HF_BODY_LIMIT` in bytes. @default 65536 */
  bodyLimit: number
  /** `HF_TOKEN_TTL_S`: lifetime of a bearer token. @default 86400 */
  tokenTtlSeconds: number
  /**
   * `HF_TOKEN_SECRET`: the key that signs bearer tokens (base64url, at least 32 bytes). When unset, one
   * is made on first start and kept in the database (fine for trying the system; a deployment sets it,
   * so the key is not in every replica and backup). `HF_TOKEN_SECRET_PREVIOUS`: the key before a
   * rotation, still accepted (never used to sign) until the tokens it signed have expired.
   */
  tokenSecret: Buffer | undefined
  tokenSecretPrevious: Buffer | undefined
  /**
   * `HF_SERVER_TIMING=off`: no per-request stage timing, so no `Server-Timing` header and no
   * `http_stage_duration_seconds` / `db_statements_per_request` series. @default on
   */
  serverTiming: boolean
  /** `HF_LOG_LEVEL` (pino levels, or 'silent'). @default 'info' */
  logLevel: string
  /** `HF_CACHE=off` reads straight from the database (post bodies, profiles, user timelines). @default on */
  cache: boolean
  /** `HF_CACHE_L1_MAX`: entries this process keeps in the cache's L1 (post bodies, profiles, timelines' keys). @default 50000 */
  cacheL1Max: number
  /** `HF_REDIS_URL`: the cache's shared tier and invalidation bus. When unset, both run in-process. */
  redisUrl: string | undefined
  /**
   * `HF_QUEUE=on`: compose and follow go through a queue and answer once it has stored them (compose:
   * `202 Accepted`); consumers persist posts and fan them out to home timelines kept as sorted sets.
   * @default on when `HF_NATS_URL` is set, else off
   */
  queue: boolean
  /**
   * `HF_NATS_URL`: the JetStream broker of the queue, `nats://host:port` (or `tls://`), or a cluster's
   * servers comma-separated (`nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222`): the
   * client connects to one and, when it dies, reconnects to another. As given; the list is
   * `natsServers`. When unset, the queue runs in-process.
   */
  natsUrl: string | undefined
  /** `HF_NATS_URL` as a list of servers, each entry trimmed (empty when unset). */
  natsServers: string[]
  /** `HF_CONSUMERS=off`: this process only publishes; other processes consume. @default on */
  consumers: boolean
  /**
   * `HF_CONSUMER_LINGER_MS`: after a batch smaller than a full one, a consumer waits this long before
   * fetching again, so a trickle of posts is stored in a few transactions of several posts rather than one
   * transaction (and one fan-out round trip) per post. Adds at most this much to the fan-out lag; a full
   * batch (a backlog) never waits. 0 turns it off. @default 50
   */
  consumerLingerMs: number
  /** `HF_QUEUE_MAX_BACKLOG`: above this many unconsumed posts, compose answers 503 with Retry-After. @default 20000 */
  queueMaxBacklog: number
  /** `HF_QUEUE_BACKOFF_MS`: waits before redelivering a failed message (the first is also its ack wait). @default [2000, 4000, 8000] */
  queueBackoffMs: number[]
  /** `HF_QUEUE_MAX_DELIVERIES`: deliveries before a message that keeps failing goes to the dead-letter stream. @default 4 */
  queueMaxDeliveries: number
  /**
   * `HF_QUEUE_REPLICAS`: copies of each message on the JetStream cluster: 1 on one server, 3 on a
   * three-node cluster (acknowledged once two stored it, so the loss of a node loses nothing). @default 1
   */
  queueReplicas: number
  /** `HF_QUEUE_MAX_AGE_S`: messages older than this leave the streams, consumed or not: how long consumers may stay down. @default 604800 (7 days) */
  queueMaxAgeS: number
  /** `HF_QUEUE_MAX_BYTES`: unconsumed bytes each stream holds; past it the broker refuses and compose answers 503. @default 1073741824 (1 GiB) */
  queueMaxBytes: number
  /**
   * `HF_NAMESPACE`: names this deployment's streams (`<ns>_posts`, `<ns>_follows`) and home-timeline keys
   * (`hf:<ns>:home:<user>`), so several deployments (or test runs) can share one broker and one Redis.
   * @default 'mb'
   */
  namespace: string
  /** `HF_HOME_TIMELINE_MAX`: entries kept per home timeline (older pages are read by query). @default 800 */
  homeTimelineMax: number
  /**
   * `HF_DRAIN_MS`: after SIGTERM/SIGINT, how long `/readyz` answers 503 while requests are still served
   * (each answer with `Connection: close`), so a proxy or load balancer stops sending before the listener
   * closes. @default 0
   */
  drainMs: number
  /** Inbound load shedding, sign-in throttles, password-hash and antispam pools: see {@link GuardConfig}. */
  guard: GuardConfig
}

/** The HTTP server's limits; each is an `HF_HTTP_*` variable. */
export interface HttpLimits {
  /** `HF_HTTP_REQUEST_TIMEOUT_MS`: the whole request (headers and body) must arrive within this, else 408. @default 15000 */
  requestTimeoutMs: number
  /** `HF_HTTP_HEADERS_TIMEOUT_MS`: the headers must arrive within this, else 408. @default 10000 */
  headersTimeoutMs: number
  /** `HF_HTTP_KEEP_ALIVE_TIMEOUT_MS`: an idle keep-alive connection is closed after this. @default 5000 */
  keepAliveTimeoutMs: number
  /** `HF_HTTP_CONNECTION_TIMEOUT_MS`: a socket with no traffic at all for this long is destroyed. @default 15000 */
  connectionTimeoutMs: number
  /** `HF_HTTP_MAX_REQUESTS_PER_SOCKET`: requests on one connection before it is closed (0: no limit). @default 10000 */
  maxRequestsPerSocket: number
  /** `HF_HTTP_MAX_CONNECTIONS`: open connections above which new ones are dropped. @default 10000 */
  maxConnections: number
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
    replicaUrls: urlList(env['HF_DATABASE_REPLICA_URLS']),
    databaseHosts: urlList(env['HF_DATABASE_HOSTS']),
    maxLagMs: integer(env, 'HF_DB_MAX_LAG_MS', 1000, 0, 3_600_000),
    dataDir: resolve(env['HF_DATA_DIR'] || 'data'),
    dbPoolMax: integer(env, 'HF_DB_POOL_MAX', 20, 1, 1000),
    shardMap: env['HF_SHARD_MAP'] ? resolve(env['HF_SHARD_MAP']) : undefined,
    shardPoolMax: integer(env, 'HF_SHARD_POOL_MAX', 4, 1, 1000),
    dbStatementTimeoutMs: integer(env, 'HF_DB_STATEMENT_TIMEOUT_MS', 10_000, 100, 3_600_000),
    workerId: integer(env, 'HF_WORKER_ID', 1, 0, 1023),
    leaseTtlMs: integer(env, 'HF_ID_LEASE_TTL_MS', 10_000, 100, 3_600_000),
    wrk2Api: flag(env, 'HF_WRK2_API'),
    wrk2ApiPublic: yes(env, 'HF_WRK2_API_PUBLIC'),
    http: {
      requestTimeoutMs: integer(env, 'HF_HTTP_REQUEST_TIMEOUT_MS', 15_000, 100, 600_000),
      headersTimeoutMs: integer(env, 'HF_HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      keepAliveTimeoutMs: integer(env, 'HF_HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
      connectionTimeoutMs: integer(env, 'HF_HTTP_CONNECTION_TIMEOUT_MS', 15_000, 100, 600_000),
      maxRequestsPerSocket: integer(env, 'HF_HTTP_MAX_REQUESTS_PER_SOCKET', 10_000, 0, 100_000_000),
      maxConnections: integer(env, 'HF_HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    },
    ceilingRoute: flag(env, 'HF_CEILING_ROUTE'),
    bodyLimit: integer(env, 'HF_BODY_LIMIT', 64 * 1024, 1024, 16 * 1024 * 1024),
    tokenTtlSeconds: integer(env, 'HF_TOKEN_TTL_S', 86_400, 60, 30 * 86_400),
    tokenSecret: secret(env, 'HF_TOKEN_SECRET'),
    tokenSecretPrevious: secret(env, 'HF_TOKEN_SECRET_PREVIOUS'),
    serverTiming:
      env['HF_SERVER_TIMING'] === undefined || env['HF_SERVER_TIMING'] === ''
        ? true
        : flag(env, 'HF_SERVER_TIMING'),
    logLevel: env['HF_LOG_LEVEL'] || 'info',
    cache: env['HF_CACHE'] === undefined || env['HF_CACHE'] === '' ? true : flag(env, 'HF_CACHE'),
    cacheL1Max: integer(env, 'HF_CACHE_L1_MAX', 50_000, 1, 10_000_000),
    redisUrl: env['HF_REDIS_URL'] || undefined,
    queue:
      env['HF_QUEUE'] === undefined || env['HF_QUEUE'] === '' ? !!env['HF_NATS_URL'] : flag(env, 'HF_QUEUE'),
    natsUrl: env['HF_NATS_URL'] || undefined,
    natsServers: urlList(env['HF_NATS_URL']),
    consumers:
      env['HF_CONSUMERS'] === undefined || env['HF_CONSUMERS'] === '' ? true : flag(env, 'HF_CONSUMERS'),
    consumerLingerMs: integer(env, 'HF_CONSUMER_LINGER_MS', 50, 0, 10_000),
    queueMaxBacklog: integer(env, 'HF_QUEUE_MAX_BACKLOG', 20_000, 1, 100_000_000),
    queueBackoffMs: durations(env, 'HF_QUEUE_BACKOFF_MS', [2000, 4000, 8000]),
    queueMaxDeliveries: integer(env, 'HF_QUEUE_MAX_DELIVERIES', 4, 1, 100),
    queueReplicas: integer(env, 'HF_QUEUE_REPLICAS', 1, 1, 5),
    // At least the streams' 2-minute duplicate window, which JetStream keeps within max_age.
    queueMaxAgeS: integer(env, 'HF_QUEUE_MAX_AGE_S', 7 * 86_400, 120, 365 * 86_400),
    queueMaxBytes: integer(env, 'HF_QUEUE_MAX_BYTES', 2 ** 30, 65_536, Number.MAX_SAFE_INTEGER),
    namespace: env['HF_NAMESPACE'] || 'mb',
    homeTimelineMax: integer(env, 'HF_HOME_TIMELINE_MAX', 800, 10, 100_000),
    drainMs: integer(env, 'HF_DRAIN_MS', 0, 0, 60_000),
    guard: loadGuardConfig(env),
  }
  if (!/^[a-z0-9_]{1,32}$/.test(config.namespace)) {
    throw new ConfigError('HF_NAMESPACE must be 1-32 lowercase letters, digits or _')
  }
  if (config.natsUrl !== undefined) {
    if (config.natsServers.length === 0) throw new ConfigError(natsUrlError)
    config.natsServers.forEach((url, i) => {
      // The entry itself is not in the message: it may carry credentials.
      if (!/^(nats|tls):\/\/[^/\s]+$/.test(url))
        throw new ConfigError(`${natsUrlError}: entry ${i + 1} is not`)
    })
  }
  if (config.queueReplicas > 1 && config.natsUrl === undefined) {
    throw new ConfigError('HF_QUEUE_REPLICAS above 1 needs HF_NATS_URL (a JetStream cluster)')
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
  for (const url of config.databaseHosts) {
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new ConfigError('HF_DATABASE_HOSTS must list postgres:// URLs')
  }
  if (config.databaseHosts.length > 0 && config.databaseUrl !== undefined) {
    throw new ConfigError(
      'HF_DATABASE_HOSTS names every member, primary included: leave HF_DATABASE_URL and HF_DATABASE_REPLICA_URLS unset',
    )
  }
  if (config.wrk2Api && !isLoopback(config.host) && !config.wrk2ApiPublic) {
    throw new ConfigError(
      `HF_WRK2_API=on serves an unauthenticated API; HF_HOST=${config.host} is not a loopback address, so set HF_WRK2_API_PUBLIC=yes to mount it there anyway`,
    )
  }
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    throw new ConfigError('HF_HTTP_HEADERS_TIMEOUT_MS must not exceed HF_HTTP_REQUEST_TIMEOUT_MS')
  }
  if (config.tokenSecretPrevious && !config.tokenSecret) {
    throw new ConfigError('HF_TOKEN_SECRET_PREVIOUS needs HF_TOKEN_SECRET (the key that signs now)')
  }
  if (!logLevels.has(config.logLevel)) {
    throw new ConfigError(`HF_LOG_LEVEL must be one of ${[...logLevels].join(', ')}`)
  }
  return Object.freeze(config)
}

const natsUrlError =
  'HF_NATS_URL must be a nats:// or tls:// URL (host and port), or several comma-separated (a cluster)'

/** A comma-separated list, each entry trimmed, empty entries dropped. */
function urlList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0)
}
