import { BenchError } from '../../errors.js'

/** The stages of the evolution story, in ladder order; each adds one thing to the one before. */
export const STAGE_NAMES = ['single', 'pool', 'cache', 'replicas', 'queue'] as const
export type StageName = (typeof STAGE_NAMES)[number]

/** One stage: what the microblog runs with, as the app's own `HF_*` settings will say it. */
export interface StageDefinition {
  name: StageName
  description: string
  /** `HF_DB_POOL_MAX`; undefined = the app's default (20 sessions per server). */
  poolMax?: number
  /** The read cache with its shared tier on Redis (`HF_CACHE=on`, `HF_REDIS_URL`); else `HF_CACHE=off`. */
  cache: boolean
  /** Streaming replicas of the primary that take the reads (`HF_DATABASE_REPLICA_URLS`). */
  replicas: number
  /** Writes through the JetStream queue and fan-out on write (`HF_NATS_URL`, `HF_QUEUE=on`). */
  queue: boolean
}

/**
 * The ladder. Each stage is the one before plus one capability, so the step from one bar to the next in
 * the chart is what that capability bought.
 */
export const STAGES: readonly StageDefinition[] = Object.freeze([
  {
    name: 'single',
    description: 'one process on PostgreSQL, one database session (no pool), no cache, no queue',
    poolMax: 1,
    cache: false,
    replicas: 0,
    queue: false,
  },
  {
    name: 'pool',
    description: "+ a pool of sessions (the app's default size)",
    cache: false,
    replicas: 0,
    queue: false,
  },
  {
    name: 'cache',
    description: '+ the read cache, in process and on Redis',
    cache: true,
    replicas: 0,
    queue: false,
  },
  {
    name: 'replicas',
    description: '+ two streaming replicas taking the reads',
    cache: true,
    replicas: 2,
    queue: false,
  },
  {
    name: 'queue',
    description: '+ writes through the JetStream queue, fan-out on write to home timelines in Redis',
    cache: true,
    replicas: 2,
    queue: true,
  },
] satisfies StageDefinition[])

/**
 * The stages `names` picks, in ladder order (each once); every stage when `names` is undefined.
 *
 * @example
 * selectStages(['cache', 'single']).map((s) => s.name) // ['single', 'cache']
 */
export function selectStages(names: readonly string[] | undefined): StageDefinition[] {
  if (names === undefined) return [...STAGES]
  const unknown = names.filter((name) => !STAGE_NAMES.includes(name as StageName))
  if (unknown.length > 0) {
    throw new BenchError(
      'E_BENCH_OPTION',
      `options.stages must be among ${STAGE_NAMES.join(', ')}; unknown: ${unknown.join(', ')}`,
      { context: { unknown } },
    )
  }
  return STAGES.filter((stage) => names.includes(stage.name))
}

/** Where a stage's servers are. */
export interface StageServers {
  /** The primary's database. */
  databaseUrl: string
  /** The replicas' databases, as many as the stage has. */
  replicaUrls: readonly string[]
  redisUrl: string
  natsUrl: string
  /** `HF_NAMESPACE` of the stage's streams and Redis keys. */
  namespace: string
}

/**
 * The stage's own settings, without addresses. Every variable a stage decides is set, to an empty value
 * where the stage leaves it unset, so an `HF_*` in the bench's own environment cannot change a stage.
 */
export function stageKnobs(stage: StageDefinition): Record<string, string> {
  return {
    HF_DB_POOL_MAX: stage.poolMax === undefined ? '' : String(stage.poolMax),
    HF_CACHE: stage.cache ? 'on' : 'off',
    HF_QUEUE: stage.queue ? 'on' : 'off',
  }
}

/**
 * The `HF_*` environment of a stage's app: its knobs plus the addresses of the servers it uses; a server
 * the stage does not use is unset (empty).
 *
 * @example
 * stageEnv(STAGES[0]!, servers) // { HF_DATABASE_URL, HF_DB_POOL_MAX: '1', HF_CACHE: 'off', HF_REDIS_URL: '', … }
 */
export function stageEnv(stage: StageDefinition, servers: StageServers): Record<string, string> {
  if (servers.replicaUrls.length !== stage.replicas) {
    throw new BenchError(
      'E_BENCH_TARGET',
      `stage ${stage.name} needs ${stage.replicas} replicas, got ${servers.replicaUrls.length}`,
    )
  }
  return {
    HF_DATABASE_URL: servers.databaseUrl,
    HF_DATABASE_REPLICA_URLS: servers.replicaUrls.join(','),
    ...stageKnobs(stage),
    HF_REDIS_URL: stage.cache || stage.queue ? servers.redisUrl : '',
    HF_NATS_URL: stage.queue ? servers.natsUrl : '',
    HF_NAMESPACE: servers.namespace,
  }
}
