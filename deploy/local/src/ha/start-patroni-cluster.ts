import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { allOrNone } from '../all-or-none.js'
import { postgresIds } from '../commands.js'
import { StackError } from '../errors.js'
import { httpProbe } from '../health.js'
import { assertPortsFree } from '../ports.js'
import { ensureTraversable } from '../postgres.js'
import { memberReadyProbe } from './cluster-probes.js'
import { etcdFlags } from './etcd-flags.js'
import { type HaLayout, haLayout } from './ha-layout.js'
import { spawnHaProcess } from './ha-process.js'
import { clusterHandle, type PatroniCluster } from './patroni-cluster.js'
import {
  type PatroniClusterOptions,
  type ResolvedPatroniOptions,
  resolvePatroniOptions,
} from './patroni-options.js'
import { prepareDirs } from './prepare-dirs.js'
import { type HaProcesses, stopCluster } from './stop-cluster.js'
import { waitUntil } from './wait-until.js'

/**
 * Starts a static etcd cluster and one Patroni per PostgreSQL member on loopback ports, and resolves
 * once one member is the primary and every other streams from it (with `synchronous`, once a
 * synchronous standby is chosen). Patroni runs as the `postgres` OS user; this process must be root
 * or that user. A member that is not up within `startTimeoutMs` fails with `E_NOT_HEALTHY`, its
 * name and the tail of its log; everything started is then stopped, and a directory made here removed.
 *
 * @example
 * await using cluster = await startPatroniCluster({ basePort: 18200 }, { signal })
 * const primary = await cluster.waitForPrimary({ signal })
 * await cluster.kill(primary, 'SIGKILL')
 * const next = await cluster.waitForPrimary({ exclude: [primary], signal })
 */
export async function startPatroniCluster(
  options: PatroniClusterOptions = {},
  { signal }: { signal?: AbortSignal } = {},
): Promise<PatroniCluster> {
  const resolved = resolvePatroniOptions(options)
  requireHaBinaries(resolved)
  signal?.throwIfAborted()
  const ids = await postgresIds()
  const created = resolved.dir === undefined
  const dir = created ? await mkdtemp(join(tmpdir(), 'hf-patroni-')) : resolve(resolved.dir!)
  const layout = haLayout(resolved, dir)
  const procs: HaProcesses = {
    etcd: layout.etcd.map((m) => ({ name: m.name, log: m.log, markers: [`--data-dir=${m.dataDir}`] })),
    patroni: layout.members.map((m) => ({ name: m.name, log: m.log, markers: [m.configFile] })),
  }
  try {
    await mkdir(dir, { recursive: true })
    await ensureTraversable(dir)
    await assertPortsFree([
      ...layout.etcd.flatMap((m) => [
        { port: m.clientPort, component: m.name },
        { port: m.peerPort, component: m.name },
      ]),
      ...layout.members.flatMap((m) => [
        { port: m.pgPort, component: m.name },
        { port: m.restPort, component: m.name },
      ]),
    ])
    await prepareDirs(resolved, layout, ids)
    await startAll(resolved, layout, procs, signal)
  } catch (err) {
    await stopCluster(layout, procs, resolved.stopTimeoutMs, resolved.log)
    if (created) await rm(dir, { recursive: true, force: true })
    throw err
  }
  return clusterHandle(resolved, layout, procs)
}

async function startAll(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  procs: HaProcesses,
  signal: AbortSignal | undefined,
): Promise<void> {
  const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  layout.etcd.forEach((member, i) => {
    const proc = procs.etcd[i]!
    spawnHaProcess(proc, options.etcdBin, etcdFlags(layout, member, options.scope), {
      asPostgres: false,
      env: { ...base, HOME: layout.dir },
    })
    options.log(`${member.name} started (pid ${proc.pid}), client ${member.clientUrl}`)
  })
  await allOrNone(
    layout.etcd.map(
      (member, i) => (s: AbortSignal) =>
        waitUntil(
          { component: member.name, name: member.name, logs: [member.log], proc: procs.etcd[i]! },
          httpProbe(`${member.clientUrl}/health`),
          { timeoutMs: options.startTimeoutMs, signal: s, failure: 'was not healthy' },
        ),
    ),
    signal,
  )
  layout.members.forEach((member, i) => {
    const proc = procs.patroni[i]!
    spawnHaProcess(proc, options.patroniBin, [member.configFile], {
      asPostgres: true,
      env: { ...base, HOME: member.dir, PYTHONUNBUFFERED: '1' },
      cwd: member.dir,
    })
    options.log(
      `${member.name} Patroni started (pid ${proc.pid}), PostgreSQL :${member.pgPort}, REST ${member.restUrl}`,
    )
  })
  await allOrNone(
    layout.members.map(
      (member, i) => (s: AbortSignal) =>
        waitUntil(
          { component: member.name, name: member.name, logs: [member.log], proc: procs.patroni[i]! },
          memberReadyProbe(member, layout.members, options.synchronous && layout.members.length > 1),
          { timeoutMs: options.startTimeoutMs, signal: s, failure: 'did not come up under Patroni' },
        ),
    ),
    signal,
  )
}

function requireHaBinaries(options: ResolvedPatroniOptions): void {
  const checks: Array<[string, string]> = [
    [options.patroniBin, 'patroni'],
    [options.etcdBin, 'etcd-server'],
    [join(options.pgBin, 'postgres'), 'postgresql-15'],
  ]
  for (const [path, pkg] of checks) {
    if (!existsSync(path)) {
      throw new StackError('E_MISSING_BINARY', `${path} is not installed: apt-get install ${pkg}`, {
        command: path,
      })
    }
  }
}
