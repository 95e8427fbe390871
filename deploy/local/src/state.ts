import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** What a process of the stack is. */
export type ProcessKind = 'postgres' | 'redis' | 'nats' | 'id-service' | 'app' | 'consumer' | 'nginx'

/** One process of the stack, as `stack.json` records it. */
export interface ProcessRecord {
  /** `postgres-primary`, `postgres-replica-1`, `redis`, `nats`, `id-service-1`, `app-1`, `consumer-1`, `nginx`. */
  readonly name: string
  readonly kind: ProcessKind
  readonly port: number
  /** How clients reach it: `postgres://…/microblog`, `redis://…`, `nats://…`, `http://…`. */
  readonly url: string
  /** Its log file. */
  readonly log: string
  /** Its data directory (PostgreSQL clusters, Redis, NATS store), when it has one. */
  readonly dataDir?: string
  /** NATS: the monitoring port (`/healthz`). */
  readonly monitorPort?: number
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
  /** `HF_DATABASE_URL` of the apps: the primary's `microblog` database. */
  readonly databaseUrl: string
  /** `HF_DATABASE_REPLICA_URLS` of the apps. */
  readonly replicaUrls: readonly string[]
  readonly redisUrl: string
  readonly natsUrl: string
  readonly postgres: { readonly primary: ProcessRecord; readonly replicas: ProcessRecord[] }
  readonly redis: ProcessRecord
  readonly nats: ProcessRecord
  readonly idServices: ProcessRecord[]
  apps: ProcessRecord[]
  consumers: ProcessRecord[]
  readonly nginx: ProcessRecord
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
    state.postgres.primary,
    ...state.postgres.replicas,
    state.redis,
    state.nats,
    ...state.idServices,
    ...state.apps,
    ...state.consumers,
    state.nginx,
  ]
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
