import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CanaryState, RolloutRecord } from './canary/record.js'
import type { FrontLayout } from './vip/front-layout.js'
import type { NodeProcesses } from './vip/node-processes.js'

/** What a process of the stack is. */
export type ProcessKind =
  | 'postgres'
  | 'etcd'
  | 'patroni'
  | 'redis'
  | 'nats'
  | 'id-service'
  | 'app'
  | 'consumer'
  | 'canary'
  | 'nginx'

/** One process of the stack, as `stack.json` records it. */
export interface ProcessRecord {
  /** `postgres-primary`, `postgres-replica-1` (`--ha`: `etcd-1`, `pg-1`, `nats-1`…`nats-3`), `redis`, `nats`, `id-service-1`, `app-1`, `consumer-1`, `canary-1`, `nginx`. */
  readonly name: string
  readonly kind: ProcessKind
  readonly port: number
  /** How clients reach it: `postgres://…/microblog`, `redis://…`, `nats://…`, `http://…`. */
  readonly url: string
  /** Its log file. */
  readonly log: string
  /** Its data directory (PostgreSQL clusters, Redis, NATS store), when it has one. */
  readonly dataDir?: string
  /** NATS: the monitoring port (`/healthz`). Patroni: its REST API's port. */
  readonly monitorPort?: number
  /** NATS with `--ha`: the port its cluster routes listen on (the other nodes connect there). */
  readonly routePort?: number
  /** The PID while it runs (for PostgreSQL and nginx: the postmaster's, the master's). */
  pid?: number | undefined
  /** `/proc/<pid>/stat` start time (clock ticks since boot): with the PID, names this very process. */
  startTime?: number | undefined
  /** Substrings its command line must contain before the stack signals that PID. */
  readonly markers: readonly string[]
}

/** The settings the processes were started with. */
export interface StackSettings {
  readonly apps: number
  readonly replicas: number
  readonly consumers: number
  readonly port: number
  readonly basePort: number
  readonly drainMs: number
  /** `--ha`: PostgreSQL under Patroni (absent in a `stack.json` from before it existed: false). */
  readonly ha?: boolean
  /** `HF_PG_SYNC=on`: one synchronous standby. */
  readonly pgSync?: boolean
  /** `--vip`: a keepalived VIP pair in front of nginx (absent in a `stack.json` from before it existed: false). */
  readonly vip?: boolean
}

/** `--vip`: the floating address in front of nginx, and what carries it. */
export interface VipState {
  /** `http://<vip>:<port>`: the address clients use. */
  readonly url: string
  /** The front network's names and addresses: `down` deletes its namespaces and link by these names. */
  readonly network: FrontLayout
  /** `<stack>/vip`: `lb1/`, `lb2/` (configurations, pid files, logs). */
  readonly dir: string
  /** Each node's nginx and keepalived (and their children), by PID, start time and markers; empty until they start. */
  readonly nodes: readonly NodeProcesses[]
}

/** `--ha`: PostgreSQL under Patroni, over a static etcd cluster, all under `dir`. */
export interface PatroniState {
  /** `<stack>/patroni`: `etcd-N/`, `pg-N/` (configuration, data), `logs/`. */
  readonly dir: string
  /** First port of its block (`basePort + 150`): etcd clients +0…, peers +10…, PostgreSQL +20…, REST +30…. */
  readonly basePort: number
  readonly synchronous: boolean
  /** `etcd-1`… (kind `etcd`, `url` its client URL). */
  readonly etcd: ProcessRecord[]
  /** `pg-1`… (kind `patroni`): the PID is Patroni's, `port` its PostgreSQL's, `monitorPort` its REST API's. */
  readonly members: ProcessRecord[]
}

/**
 * A stack: where each process listens, its PID and log, and the URLs to reach it. `stack.json` in the
 * stack's directory holds it; every command reads it from there.
 */
export interface StackState {
  readonly version: 1
  readonly dir: string
  /** nginx: where clients go. */
  readonly frontUrl: string
  readonly settings: StackSettings
  /** `HF_NAMESPACE` of the apps (streams, Redis keys). */
  readonly namespace: string
  /** The `HF_*` settings passed through to every microblog process, as started. */
  appEnv: Record<string, string>
  /** `HF_DATABASE_URL` of the apps: the primary's `microblog` database (`--ha`: the first member's; see `databaseHosts`). */
  readonly databaseUrl: string
  /** `HF_DATABASE_REPLICA_URLS` of the apps. */
  readonly replicaUrls: readonly string[]
  /** `--ha`: `HF_DATABASE_HOSTS` of the apps, every member's `microblog` database; the primary is whichever says so. */
  readonly databaseHosts?: readonly string[]
  /**
   * More `HF_DATABASE_HOSTS` of the apps beside {@link databaseHosts}, roles discovered the same way (a
   * drill's replica in a network namespace: `setExtraDatabaseHosts`). Not the ID services'.
   */
  extraDatabaseHosts?: string[]
  readonly redisUrl: string
  /** `HF_NATS_URL` of the apps: `nats://127.0.0.1:<port>`; `--ha`: every node's, comma-separated. */
  readonly natsUrl: string
  /** PostgreSQL run by the stack itself (absent with `--ha`). */
  readonly postgres?: { readonly primary: ProcessRecord; readonly replicas: ProcessRecord[] }
  /** `--ha`: PostgreSQL under Patroni. */
  readonly patroni?: PatroniState
  readonly redis: ProcessRecord
  /** NATS with JetStream: `nats`; `--ha`: the cluster's first node, `nats-1` (see `natsNodes`). */
  readonly nats: ProcessRecord
  /** `--ha`: the JetStream cluster's other nodes, `nats-2` and `nats-3` (absent without `--ha`). */
  readonly natsCluster?: ProcessRecord[]
  readonly idServices: ProcessRecord[]
  apps: ProcessRecord[]
  consumers: ProcessRecord[]
  /**
   * The microblog build the apps and consumers run (`<dir>/dist/main.js`): absent, the repository's
   * `apps/microblog`; a promoted canary's build once one was promoted.
   */
  microblogBuild?: string | undefined
  /** A canary rollout under way (`npm run stack -- canary`): its processes and share. */
  canary?: CanaryState | undefined
  /** The last 20 canary rollouts, the latest last. */
  rollouts?: RolloutRecord[]
  readonly nginx: ProcessRecord
  /** `--vip`: the VIP pair in front of nginx, once made (`frontUrl` stays nginx's loopback address). */
  vip?: VipState | undefined
  readonly createdAt: string
  updatedAt: string
}

/** `<dir>/stack.json`. */
export function statePath(dir: string): string {
  return join(dir, 'stack.json')
}

/** Every process in start order; `down` goes the other way. */
export function allProcesses(state: StackState): ProcessRecord[] {
  return [
    ...(state.postgres ? [state.postgres.primary, ...state.postgres.replicas] : []),
    ...(state.patroni ? [...state.patroni.etcd, ...state.patroni.members] : []),
    state.redis,
    ...natsNodes(state),
    ...state.idServices,
    ...state.apps,
    ...(state.canary?.apps ?? []),
    ...state.consumers,
    state.nginx,
  ]
}

/**
 * Every NATS server of the stack: `[nats]`, or with `--ha` `[nats-1, nats-2, nats-3]`. In the cluster
 * each node's server name is its process name, so a stream's `cluster.leader` names the process.
 *
 * @example
 * const leader = natsNodes(state).find((r) => r.name === info.cluster?.leader)
 */
export function natsNodes(state: StackState): ProcessRecord[] {
  return [state.nats, ...(state.natsCluster ?? [])]
}

/** The stack recorded in `dir`, or undefined when there is none. */
export async function readState(dir: string): Promise<StackState | undefined> {
  let text: string
  try {
    text = await readFile(statePath(dir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const state = JSON.parse(text) as StackState
  return state.version === 1 ? state : undefined
}

/** Writes `stack.json` atomically (a reader never sees half of it). */
export async function writeState(state: StackState): Promise<void> {
  state.updatedAt = new Date().toISOString()
  const tmp = `${statePath(state.dir)}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`)
  await rename(tmp, statePath(state.dir))
}
