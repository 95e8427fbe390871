import { setTimeout as sleep } from 'node:timers/promises'
import { type HaProcess, isAlive, signalHaProcess, stopHaProcess } from '../ha/ha-process.js'
import { childrenOf, procInfo, waitForExit } from '../processes.js'
import type { VipPairNode } from './vip-pair-layout.js'

/** The processes of one node of a VIP pair, each signalled only while its PID still names it. */
export interface NodeProcesses {
  readonly nginx: HaProcess
  readonly keepalived: HaProcess
  /** nginx's workers as they were once it was healthy: a SIGKILL of the master leaves them serving. */
  readonly workers: HaProcess[]
  /** keepalived's VRRP child: a SIGKILL of the parent would leave it holding the VIP. */
  readonly keepalivedChildren: HaProcess[]
}

export function nodeProcesses(node: VipPairNode): NodeProcesses {
  return {
    nginx: { name: `${node.name} nginx`, log: node.nginxLog, markers: [node.nginxConf] },
    keepalived: { name: `${node.name} keepalived`, log: node.keepalivedLog, markers: [node.keepalivedConf] },
    workers: [],
    keepalivedChildren: [],
  }
}

/** Records the live children of `parent` into `into`, each named by its command line and start time. */
export function adoptChildren(parent: HaProcess, into: HaProcess[]): void {
  if (!isAlive(parent)) return
  for (const pid of childrenOf(parent.pid!)) {
    const info = procInfo(pid)
    if (!info || into.some((p) => p.pid === pid)) continue
    into.push({
      name: `${parent.name} child`,
      log: parent.log,
      markers: [info.cmdline],
      pid,
      startTime: info.startTime,
    })
  }
}

/** SIGKILLs the master and the workers recorded, and waits until they are gone; the PIDs killed. */
export async function killNginxProcesses(procs: NodeProcesses): Promise<number[]> {
  const killed = [procs.nginx, ...procs.workers]
    .filter((proc) => signalHaProcess(proc, 'SIGKILL'))
    .map((proc) => proc.pid!)
  await Promise.all(killed.map((pid) => waitForExit(pid, 5000)))
  return killed
}

/**
 * Stops keepalived first (SIGTERM: it drops the VIP), then nginx (SIGTERM: fast shutdown), each
 * SIGKILLed after `timeoutMs`, then SIGKILLs any recorded child still running.
 */
export async function stopNodeProcesses(procs: NodeProcesses, timeoutMs: number): Promise<void> {
  await stopHaProcess(procs.keepalived, ['SIGTERM'], timeoutMs)
  await stopHaProcess(procs.nginx, ['SIGTERM'], timeoutMs)
  await Promise.all([...procs.keepalivedChildren, ...procs.workers].map((p) => stopHaProcess(p, [], 0)))
}

/**
 * Waits (up to `timeoutMs`) until the process, spawned as `ip netns exec … <program>`, runs its
 * program: its command line starts with `prefix`. Until then `/proc/<pid>/cmdline` can read empty
 * (in the middle of execve), which `isAlive` would take for an exit.
 */
export async function waitForExec(
  proc: HaProcess,
  prefix: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.pid !== undefined && procInfo(proc.pid)?.cmdline.startsWith(prefix)) return
    await sleep(10, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      signal?.throwIfAborted() // the signal's reason, not the timer's AbortError
      throw err
    })
  }
}
