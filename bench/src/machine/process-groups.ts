import type { ProcStat } from './cpu.js'

/** The process groups the sampler splits a machine's CPU into; `other` is the rest of the machine. */
export const PROCESS_GROUPS = [
  'server',
  'consumers',
  'proxy',
  'postgres',
  'redis',
  'nats',
  'sender',
  'other',
] as const
export type ProcessGroup = (typeof PROCESS_GROUPS)[number]
/** A group a process can be in (`other` is what is left of the machine). */
export type ProcessClass = Exclude<ProcessGroup, 'other'>

/** The groups found by command name (`/proc/<pid>/comm`). */
const BY_COMMAND: Readonly<Record<string, ProcessClass>> = Object.freeze({
  nginx: 'proxy',
  postgres: 'postgres',
  'redis-server': 'redis',
  'nats-server': 'nats',
})

/** Which processes are the kit's own. */
export interface ProcessRoles {
  /** Pids of the server under test that the kit started (its children join it). */
  serverPids: readonly number[]
  /** Pids of the app's consumer processes the kit started, when they run apart from the server. */
  consumerPids?: readonly number[]
  /** The bench process; its other descendants (wrk, raw-load workers) are the sender. */
  senderPid: number
}

/**
 * Assigns each process to a group: the server's pids and their descendants → `server`, the consumer
 * processes' → `consumers`; by command name →
 * `proxy` (nginx), `postgres`, `redis`, `nats`; the bench process and its other descendants → `sender`. Processes in no
 * group are left out (their CPU ends up in `other`). A server started by the bench is its child, so the
 * server's subtree is claimed first.
 *
 * @example
 * groupProcesses(await linuxProcReader.processes(signal), { serverPids: [target.pid], senderPid: process.pid })
 */
export function groupProcesses(stats: readonly ProcStat[], roles: ProcessRoles): Map<number, ProcessClass> {
  const children = new Map<number, number[]>()
  for (const stat of stats) {
    const siblings = children.get(stat.ppid)
    if (siblings) siblings.push(stat.pid)
    else children.set(stat.ppid, [stat.pid])
  }
  const groups = new Map<number, ProcessClass>()
  const claim = (root: number, group: ProcessClass): void => {
    const stack = [root]
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      if (groups.has(pid)) continue
      groups.set(pid, group)
      stack.push(...(children.get(pid) ?? []))
    }
  }
  for (const pid of roles.serverPids) claim(pid, 'server')
  for (const pid of roles.consumerPids ?? []) claim(pid, 'consumers')
  for (const stat of stats) {
    const group = BY_COMMAND[stat.comm]
    if (group && !groups.has(stat.pid)) groups.set(stat.pid, group)
  }
  claim(roles.senderPid, 'sender')
  return groups
}
