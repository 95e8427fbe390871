import { userInfo } from 'node:os'
import { postgresUser } from '../commands.js'
import { StackError } from '../errors.js'
import { adoptPostgres } from '../postgres.js'
import { procInfo, spawnDetached, waitForExit } from '../processes.js'
import type { ProcessRecord } from '../state.js'
import type { PatroniMemberLayout } from './ha-layout.js'

/** One process of a Patroni cluster: a PID is only ever signalled while it still names this process. */
export interface HaProcess {
  /** `etcd-1`, `pg-1` (Patroni), `pg-1 postmaster`. */
  readonly name: string
  readonly log: string
  /** Substrings its command line must contain before that PID is signalled. */
  readonly markers: readonly string[]
  pid?: number | undefined
  /** `/proc/<pid>/stat` start time: with the PID, names this very process. */
  startTime?: number | undefined
}

/** Whether the process runs: its PID is alive, started when we saw it start, and carries its markers. */
export function isAlive(proc: HaProcess): boolean {
  if (proc.pid === undefined) return false
  const info = procInfo(proc.pid)
  if (!info || (proc.startTime !== undefined && info.startTime !== proc.startTime)) return false
  return proc.markers.every((marker) => info.cmdline.includes(marker))
}

/**
 * Starts `command` detached, writing to the process's log. With `asPostgres` it runs as the
 * `postgres` OS user: through `setpriv`, which execs in place, so the PID is the command's own (a
 * `runuser` would stay in between, and killing it would leave the command running).
 */
export function spawnHaProcess(
  proc: HaProcess,
  command: string,
  args: readonly string[],
  options: { asPostgres: boolean; env: NodeJS.ProcessEnv; cwd?: string },
): void {
  let line = [command, ...args]
  if (options.asPostgres && userInfo().username !== postgresUser) {
    if (process.getuid?.() !== 0) {
      throw new StackError(
        'E_PERMISSION',
        `Patroni runs as the '${postgresUser}' OS user: run this as root (it uses setpriv) or as '${postgresUser}'`,
        { command },
      )
    }
    line = ['setpriv', `--reuid=${postgresUser}`, `--regid=${postgresUser}`, '--init-groups', '--', ...line]
  }
  const started = spawnDetached({
    command: line[0]!,
    args: line.slice(1),
    env: options.env,
    log: proc.log,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  })
  proc.pid = started.pid
  proc.startTime = started.startTime
}

/** Sends `signal` if the process is ours; whether it was. */
export function signalHaProcess(proc: HaProcess, signal: NodeJS.Signals): boolean {
  if (!isAlive(proc)) return false
  process.kill(proc.pid!, signal)
  return true
}

/**
 * Stops the process if it is ours: each signal of `signals` in turn, waiting `timeoutMs` after each
 * for it to exit, then SIGKILL. Never signals a PID whose identity does not match.
 */
export async function stopHaProcess(
  proc: HaProcess,
  signals: readonly NodeJS.Signals[],
  timeoutMs: number,
): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isAlive(proc)) return 'not-running'
  const pid = proc.pid!
  for (const signal of signals) {
    if (!signalHaProcess(proc, signal) || (await waitForExit(pid, timeoutMs))) return 'stopped'
  }
  signalHaProcess(proc, 'SIGKILL')
  await waitForExit(pid, 5000)
  return 'killed'
}

/**
 * The postmaster running on the member's data directory (its `postmaster.pid`), or undefined when
 * there is none. Patroni starts it in a session of its own, so it outlives a killed Patroni.
 */
export async function postmasterOf(member: PatroniMemberLayout): Promise<HaProcess | undefined> {
  const record: ProcessRecord = {
    name: `${member.name} postmaster`,
    kind: 'postgres',
    port: member.pgPort,
    url: member.url,
    log: member.log,
    dataDir: member.dataDir,
    markers: [member.dataDir],
  }
  if (!(await adoptPostgres(record))) return undefined
  return {
    name: record.name,
    log: record.log,
    markers: record.markers,
    pid: record.pid,
    startTime: record.startTime,
  }
}
