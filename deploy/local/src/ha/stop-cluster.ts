import type { HaLayout } from './ha-layout.js'
import { type HaProcess, postmasterOf, stopHaProcess } from './ha-process.js'

/** The processes a Patroni cluster started, in the layout's order. */
export interface HaProcesses {
  readonly etcd: readonly HaProcess[]
  readonly patroni: readonly HaProcess[]
}

/**
 * Stops every Patroni (SIGTERM: it stops its PostgreSQL, fast), then any postmaster a killed
 * Patroni left running (SIGINT, then SIGQUIT), then etcd — each by PID, SIGKILL after `timeoutMs`.
 * Removes nothing.
 */
export async function stopCluster(
  layout: HaLayout,
  procs: HaProcesses,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const stop = async (proc: HaProcess, signals: NodeJS.Signals[], bound: number) => {
    const outcome = await stopHaProcess(proc, signals, bound)
    if (outcome !== 'not-running') log(`${proc.name} ${outcome}`)
  }
  await Promise.all(procs.patroni.map((proc) => stop(proc, ['SIGTERM'], timeoutMs)))
  const orphans = await Promise.all(layout.members.map((member) => postmasterOf(member)))
  await Promise.all(orphans.map((proc) => proc && stop(proc, ['SIGINT', 'SIGQUIT'], timeoutMs)))
  // One at a time: a leader asked to stop hands its leadership to a connected member first, and
  // waits seconds for one that is stopping too.
  for (const proc of procs.etcd) await stop(proc, ['SIGTERM'], timeoutMs)
}
