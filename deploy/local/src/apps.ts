import type { UpContext } from './context.js'
import { ensureProcess, type ProcessSpec } from './ensure-process.js'
import { httpProbe } from './health.js'
import { nodeEnv } from './node-env.js'
import { microblogEntry, repoRoot } from './paths.js'
import type { ProcessRecord, StackState } from './state.js'

/** Consumers run at this `nice` value, so in a burst the accepting path wins the cores. */
export const consumerNiceness = 10

/**
 * The apps' log level when `HF_LOG_LEVEL` is not set: nginx's access log already has a line per
 * request (with upstream timings), so the apps' own per-request lines (pino `info`) are off by default.
 */
export const defaultAppLogLevel = 'warn'

/** The `HF_*` settings of one microblog process of the stack: the pass-through ones, then the stack's. */
export function microblogSettings(state: StackState, record: ProcessRecord): Record<string, string> {
  return {
    HF_LOG_LEVEL: defaultAppLogLevel,
    // Shed on event-loop delay too: what the concurrency limit cannot see when the host is short of CPU.
    HF_GUARD_MAX_LOOP_DELAY_MS: '15',
    ...haSettings(state),
    ...queueSettings(state),
    ...state.appEnv,
    HF_HOST: '127.0.0.1',
    HF_PORT: String(record.port),
    ...databaseSettings(state),
    HF_REDIS_URL: state.redisUrl,
    HF_NATS_URL: state.natsUrl,
    HF_NAMESPACE: state.namespace,
    HF_CONSUMERS: record.kind === 'consumer' ? 'on' : 'off',
    HF_DRAIN_MS: String(state.settings.drainMs),
    // nginx is on loopback: its X-Forwarded-For names the client the per-address limits key on.
    HF_TRUST_PROXY: '127.0.0.1',
  }
}

/**
 * How to run (and probe) an app, a consumer or a canary: `node <build>/dist/main.js` (the stack's build,
 * by default `apps/microblog`; a canary's own), from the build's directory, healthy on `/readyz`.
 */
export function microblogSpec(
  state: StackState,
  record: ProcessRecord,
  build: string | undefined = state.microblogBuild,
): ProcessSpec {
  return {
    spawn: () => ({
      command: process.execPath,
      args: [microblogEntry(build)],
      cwd: build ?? repoRoot,
      env: nodeEnv(microblogSettings(state, record)),
      log: record.log,
      ...(record.kind === 'consumer' ? { niceness: consumerNiceness } : {}),
    }),
    probe: httpProbe(`${record.url}/readyz`),
  }
}

/** The apps (nginx's upstream), then the consumers, each tier started in parallel. */
export async function ensureMicroblogs(ctx: UpContext): Promise<void> {
  const { state } = ctx
  await Promise.all(state.apps.map((record) => ensureProcess(ctx, record, microblogSpec(state, record))))
  await Promise.all(state.consumers.map((record) => ensureProcess(ctx, record, microblogSpec(state, record))))
}

/**
 * `HF_DATABASE_HOSTS` (`--ha`: every member and any extra host, roles discovered), else
 * `HF_DATABASE_URL` and its replicas.
 */
export function databaseSettings(state: StackState): Record<string, string> {
  if (state.databaseHosts && state.databaseHosts.length > 0) {
    return { HF_DATABASE_HOSTS: [...state.databaseHosts, ...(state.extraDatabaseHosts ?? [])].join(',') }
  }
  return {
    HF_DATABASE_URL: state.databaseUrl,
    ...(state.replicaUrls.length > 0 ? { HF_DATABASE_REPLICA_URLS: state.replicaUrls.join(',') } : {}),
  }
}

/**
 * `--ha`: the streams at three replicas on the three-node JetStream cluster (unless `HF_QUEUE_REPLICAS`
 * is set), so a post acknowledged with 202 is on two nodes and the loss of one loses nothing.
 */
export function queueSettings(state: StackState): Record<string, string> {
  return state.natsCluster ? { HF_QUEUE_REPLICAS: String(state.natsCluster.length + 1) } : {}
}

/**
 * `--ha`: the worker-id lease outlives a failover (ids stop half its TTL after the last renewal, and
 * Patroni promotes within ~10–15 s), so a primary's crash costs writes for seconds, not the processes.
 */
export function haSettings(state: StackState): Record<string, string> {
  return state.patroni ? { HF_ID_LEASE_TTL_MS: '40000' } : {}
}
