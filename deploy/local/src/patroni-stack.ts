import { mkdir } from 'node:fs/promises'
import { postgresIds } from './commands.js'
import type { UpContext } from './context.js'
import { type HaLayout, haLayout } from './ha/ha-layout.js'
import { clusterHandle, type PatroniCluster } from './ha/patroni-cluster.js'
import { type ResolvedPatroniOptions, resolvePatroniOptions } from './ha/patroni-options.js'
import { prepareDirs } from './ha/prepare-dirs.js'
import { startMissing } from './ha/start-missing.js'
import { requireHaBinaries } from './ha/start-patroni-cluster.js'
import { type HaProcesses, stopCluster } from './ha/stop-cluster.js'
import { assertPortsFree } from './ports.js'
import { ensureDatabase, ensureTraversable } from './postgres.js'
import { isRunning } from './processes.js'
import type { StackState } from './state.js'

/** The plain stack's `stack.conf` settings, as Patroni's `postgresql.parameters` (over its WAL settings). */
const stackParameters = Object.freeze({
  max_connections: 500,
  shared_buffers: '256MB',
  effective_cache_size: '1GB',
  wal_keep_size: '1GB',
  log_min_duration_statement: '1s',
})

interface StackPatroni {
  readonly options: ResolvedPatroniOptions
  readonly layout: HaLayout
  /** The records of `stack.json` themselves: starting a process fills in its PID there. */
  readonly procs: HaProcesses
}

function stackPatroni(
  state: StackState,
  { log = () => {}, startTimeoutMs }: { log?: (line: string) => void; startTimeoutMs?: number } = {},
): StackPatroni {
  const patroni = state.patroni
  if (!patroni) throw new Error(`the stack in ${state.dir} does not run PostgreSQL under Patroni`)
  const options = resolvePatroniOptions({
    dir: patroni.dir,
    basePort: patroni.basePort,
    members: patroni.members.length,
    etcdMembers: patroni.etcd.length,
    synchronous: patroni.synchronous,
    parameters: stackParameters,
    log,
    ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }),
  })
  return {
    options,
    layout: haLayout(options, patroni.dir),
    procs: { etcd: patroni.etcd, patroni: patroni.members },
  }
}

/**
 * `--ha`: the Patroni cluster of the stack in `state` as a handle (primary, topology, kill…), over
 * the processes `stack.json` records — for drills. Throws when the stack has no `--ha`.
 *
 * @example
 * const cluster = patroniCluster(state)
 * await cluster.kill(await cluster.waitForPrimary(), 'SIGKILL')
 */
export function patroniCluster(
  state: StackState,
  options: { log?: (line: string) => void } = {},
): PatroniCluster {
  const { options: resolved, layout, procs } = stackPatroni(state, options)
  return clusterHandle(resolved, layout, procs)
}

/**
 * `--ha`: starts whatever of etcd and the Patroni members does not run (a new cluster, or the members
 * a failure took down, which rejoin as replicas), waits for a primary, then makes the apps' database
 * and PostGIS there (replicated to every member).
 */
export async function ensurePatroni(ctx: UpContext): Promise<void> {
  const { state } = ctx
  if (!state.patroni) return
  const { options, layout, procs } = stackPatroni(state, {
    log: ctx.options.log,
    startTimeoutMs: ctx.options.healthTimeoutMs,
  })
  requireHaBinaries(options)
  await mkdir(layout.dir, { recursive: true })
  await ensureTraversable(layout.dir)
  const missing = [
    ...layout.etcd.flatMap((m, i) =>
      isRunning(state.patroni!.etcd[i]!)
        ? []
        : [
            { port: m.clientPort, component: m.name },
            { port: m.peerPort, component: m.name },
          ],
    ),
    ...layout.members.flatMap((m, i) =>
      isRunning(state.patroni!.members[i]!)
        ? []
        : [
            { port: m.pgPort, component: m.name },
            { port: m.restPort, component: m.name },
          ],
    ),
  ]
  await assertPortsFree(missing)
  await prepareDirs(options, layout, await postgresIds())
  let started: Set<string>
  try {
    started = new Set(await startMissing(options, layout, procs, undefined))
  } finally {
    await ctx.save()
  }
  for (const record of [...state.patroni.etcd, ...state.patroni.members]) {
    ctx.note(record, started.has(record.name) ? 'started' : 'reused')
  }
  const primary = await clusterHandle(options, layout, procs).waitForPrimary()
  const record = state.patroni.members.find((m) => m.name === primary.name)!
  await ensureDatabase(primary.url, record.url, primary.name)
}

/** Stops every Patroni (and its PostgreSQL), any postmaster a killed one left, then etcd: by PID. */
export async function stopPatroni(state: StackState, log: (line: string) => void): Promise<void> {
  const { options, layout, procs } = stackPatroni(state, { log })
  await stopCluster(layout, procs, options.stopTimeoutMs, log)
}
