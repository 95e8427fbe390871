import { allOrNone } from '../all-or-none.js'
import { httpProbe } from '../health.js'
import { memberReadyProbe } from './cluster-probes.js'
import { etcdFlags } from './etcd-flags.js'
import type { HaLayout } from './ha-layout.js'
import { isAlive, spawnHaProcess } from './ha-process.js'
import type { ResolvedPatroniOptions } from './patroni-options.js'
import type { HaProcesses } from './stop-cluster.js'
import { waitUntil } from './wait-until.js'

/** The processes of a cluster laid out as `layout`, none started: what `startMissing` fills in. */
export function haProcesses(layout: HaLayout): HaProcesses {
  return {
    etcd: layout.etcd.map((m) => ({ name: m.name, log: m.log, markers: [`--data-dir=${m.dataDir}`] })),
    patroni: layout.members.map((m) => ({ name: m.name, log: m.log, markers: [m.configFile] })),
  }
}

/**
 * Starts every process of `procs` that does not run — the etcd members first, then one Patroni per
 * PostgreSQL member — and waits until every etcd member is healthy and every PostgreSQL member is up
 * under Patroni (a primary, the others streaming from it). What runs is left alone, so the same call
 * starts a new cluster and brings back the members of one that lost some (a Patroni started again
 * on an old primary's data rejoins as a replica, rewound if it must be). The directories must be
 * prepared (`prepareDirs`). Resolves with the names of the processes it started.
 */
export async function startMissing(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  procs: HaProcesses,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const started: string[] = []
  const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  layout.etcd.forEach((member, i) => {
    const proc = procs.etcd[i]!
    if (isAlive(proc)) return
    spawnHaProcess(proc, options.etcdBin, etcdFlags(layout, member, options.scope), {
      asPostgres: false,
      env: { ...base, HOME: layout.dir },
    })
    started.push(member.name)
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
    if (isAlive(proc)) return
    spawnHaProcess(proc, options.patroniBin, [member.configFile], {
      asPostgres: true,
      env: { ...base, HOME: member.dir, PYTHONUNBUFFERED: '1' },
      cwd: member.dir,
    })
    started.push(member.name)
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
  return started
}
