import { join } from 'node:path'
import { haLayout } from './ha/ha-layout.js'
import { resolvePatroniOptions } from './ha/patroni-options.js'
import { planNats } from './nats-layout.js'
import type { ResolvedStackOptions } from './options.js'
import { entryPoints, microblogEntry } from './paths.js'
import { allProcesses, type PatroniState, type ProcessRecord, type StackState } from './state.js'

/** Where each process listens, as an offset from `basePort`. */
export const portOffsets = Object.freeze({
  postgres: 0, // primary; replica n at +n
  redis: 10,
  nats: 20, // --ha: nats-1…3 at +20/+21/+22, +23/+24/+25, +26/+27/+28 (client, monitor, route)
  natsMonitor: 21,
  idService: 30, // two
  consumer: 40,
  canary: 50, // canary-1… of a rollout (npm run stack -- canary)
  app: 100,
  patroni: 150, // --ha: etcd, PostgreSQL under Patroni, Patroni's REST API (see ha/ha-layout.ts)
})

/** The database the apps use on the primary. */
export const databaseName = 'microblog'

/** The directories of a stack, all under `dir`. */
export function stackPaths(dir: string) {
  return {
    logs: join(dir, 'logs'),
    postgres: join(dir, 'postgres'),
    patroni: join(dir, 'patroni'),
    redis: join(dir, 'redis'),
    nats: join(dir, 'nats'),
    nginx: join(dir, 'nginx'),
    nginxConf: join(dir, 'nginx', 'nginx.conf'),
    nginxPid: join(dir, 'nginx', 'nginx.pid'),
    /** `--vip`: the VIP pair's `lb1/`, `lb2/`. */
    vip: join(dir, 'vip'),
    accessLog: join(dir, 'logs', 'nginx-access.log'),
    errorLog: join(dir, 'logs', 'nginx-error.log'),
    /** One line per request while a canary runs: which side of the split served it, status, time. */
    splitLog: join(dir, 'logs', 'nginx-split.log'),
    /** `npm run stack -- canary --abort` asks the rollout's controller to roll back by creating it. */
    canaryAbort: join(dir, 'canary.abort'),
    lock: join(dir, 'stack.lock'),
  }
}

/** The `HF_*` variables the stack sets itself for its processes: never passed through. */
const owned = new Set([
  'HF_HOST',
  'HF_PORT',
  'HF_DATABASE_URL',
  'HF_DATABASE_REPLICA_URLS',
  'HF_DATABASE_HOSTS',
  'HF_PG_SYNC',
  'HF_REDIS_URL',
  'HF_NATS_URL',
  'HF_CONSUMERS',
  'HF_WORKER_ID',
  'HF_DATA_DIR',
  'HF_DRAIN_MS',
  'HF_NAMESPACE',
  'HF_ID_HOST',
  'HF_ID_PORT',
  'HF_ID_HINT',
])

/** The `HF_*` settings of `env` that go to every microblog process (not the stack's own, nor tests'). */
export function passThrough(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined || !key.startsWith('HF_') || owned.has(key)) continue
    if (key.startsWith('HF_STACK_') || key.startsWith('HF_TEST_')) continue
    out[key] = value
  }
  return out
}

/**
 * The stack `options` describe, with every process not yet started. PIDs of `previous` carry over for
 * processes of the same name and port, so a second `up` finds what runs.
 */
export function planStack(options: ResolvedStackOptions, previous?: StackState): StackState {
  const { dir, basePort } = options
  const paths = stackPaths(dir)
  const log = (name: string) => join(paths.logs, `${name}.log`)
  const carried = new Map((previous ? allProcesses(previous) : []).map((r) => [`${r.name}:${r.port}`, r]))
  const record = (r: Omit<ProcessRecord, 'pid' | 'startTime'>): ProcessRecord => {
    const old = carried.get(`${r.name}:${r.port}`)
    return { ...r, pid: old?.pid, startTime: old?.startTime }
  }
  const pg = (name: string, port: number) =>
    record({
      name: `postgres-${name}`,
      kind: 'postgres',
      port,
      url: `postgres://postgres@127.0.0.1:${port}/${databaseName}`,
      log: log(`postgres-${name}`),
      dataDir: join(paths.postgres, name),
      markers: ['postgres', join(paths.postgres, name)],
    })
  const http = (name: string, kind: ProcessRecord['kind'], port: number, main: string) =>
    record({ name, kind, port, url: `http://127.0.0.1:${port}`, log: log(name), markers: [main] })
  const primary = pg('primary', basePort + portOffsets.postgres)
  const replicas = Array.from({ length: options.replicas }, (_, i) =>
    pg(`replica-${i + 1}`, basePort + portOffsets.postgres + i + 1),
  )
  const patroni = options.ha ? planPatroni(options, record) : undefined
  const databaseHosts = patroni?.members.map((m) => m.url)
  const redisPort = basePort + portOffsets.redis
  const nats = planNats({
    firstPort: basePort + portOffsets.nats,
    storeDir: paths.nats,
    logDir: paths.logs,
    ha: options.ha,
  })
  const now = new Date().toISOString()
  // A promoted canary's build stays the apps' build across later `up`s.
  const microblogBuild = previous?.microblogBuild
  const microblog = microblogEntry(microblogBuild)
  return {
    version: 1,
    dir,
    frontUrl: `http://127.0.0.1:${options.port}`,
    settings: {
      apps: options.apps,
      replicas: options.replicas,
      consumers: options.consumers,
      port: options.port,
      basePort,
      drainMs: options.drainMs,
      ha: options.ha,
      pgSync: options.pgSync,
      vip: options.vip,
    },
    namespace: options.env['HF_NAMESPACE'] || 'mb',
    appEnv: passThrough(options.env),
    databaseUrl: databaseHosts?.[0] ?? primary.url,
    replicaUrls: patroni ? [] : replicas.map((r) => r.url),
    ...(databaseHosts ? { databaseHosts } : {}),
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    natsUrl: nats.natsUrl,
    ...(patroni ? { patroni } : { postgres: { primary, replicas } }),
    redis: record({
      name: 'redis',
      kind: 'redis',
      port: redisPort,
      url: `redis://127.0.0.1:${redisPort}`,
      log: log('redis'),
      dataDir: paths.redis,
      markers: ['redis-server', String(redisPort)],
    }),
    nats: record(nats.nats),
    ...(nats.natsCluster ? { natsCluster: nats.natsCluster.map((r) => record(r)) } : {}),
    idServices: [1, 2].map((n) =>
      http(`id-service-${n}`, 'id-service', basePort + portOffsets.idService + n - 1, entryPoints.idService),
    ),
    apps: Array.from({ length: options.apps }, (_, i) =>
      http(`app-${i + 1}`, 'app', basePort + portOffsets.app + i, microblog),
    ),
    consumers: Array.from({ length: options.consumers }, (_, i) =>
      http(`consumer-${i + 1}`, 'consumer', basePort + portOffsets.consumer + i, microblog),
    ),
    ...(microblogBuild ? { microblogBuild } : {}),
    ...(previous?.canary ? { canary: previous.canary } : {}),
    ...(previous?.rollouts ? { rollouts: previous.rollouts } : {}),
    nginx: record({
      name: 'nginx',
      kind: 'nginx',
      port: options.port,
      url: `http://127.0.0.1:${options.port}`,
      log: paths.accessLog,
      markers: ['nginx: master process', paths.nginxConf],
    }),
    // The VIP pair outlives `up`: `ensureVip` checks it, keeps it or makes it afresh.
    ...(previous?.vip ? { vip: previous.vip } : {}),
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
  }
}

/** `--ha`: an etcd member per record, then one Patroni-run PostgreSQL member per primary and replica. */
function planPatroni(
  options: ResolvedStackOptions,
  record: (r: Omit<ProcessRecord, 'pid' | 'startTime'>) => ProcessRecord,
): PatroniState {
  const dir = stackPaths(options.dir).patroni
  const basePort = options.basePort + portOffsets.patroni
  const layout = haLayout(resolvePatroniOptions({ basePort, members: options.replicas + 1 }), dir)
  return {
    dir,
    basePort,
    synchronous: options.pgSync,
    etcd: layout.etcd.map((m) =>
      record({
        name: m.name,
        kind: 'etcd',
        port: m.clientPort,
        url: m.clientUrl,
        log: m.log,
        dataDir: m.dataDir,
        markers: [`--data-dir=${m.dataDir}`],
      }),
    ),
    members: layout.members.map((m) =>
      record({
        name: m.name,
        kind: 'patroni',
        port: m.pgPort,
        url: `postgres://postgres@127.0.0.1:${m.pgPort}/${databaseName}`,
        log: m.log,
        dataDir: m.dataDir,
        monitorPort: m.restPort,
        markers: [m.configFile],
      }),
    ),
  }
}
