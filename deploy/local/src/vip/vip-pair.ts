import { rm } from 'node:fs/promises'
import { StackError } from '../errors.js'
import { waitUntil } from '../ha/wait-until.js'
import type { FrontNetwork } from './front-network.js'
import { ipJson } from './ip-command.js'
import { killNginxProcesses, type NodeProcesses, stopNodeProcesses } from './node-processes.js'
import type { VipPairNode } from './vip-pair-layout.js'
import type { ResolvedVipPairOptions } from './vip-pair-options.js'

/** Two nginx behind one floating address, each with a keepalived that holds the VIP while its nginx answers. */
export interface VipPair {
  /** Configurations, pid files and logs: `lb1/`, `lb2/`. */
  readonly dir: string
  readonly network: FrontNetwork
  readonly nodes: readonly [VipPairNode, VipPairNode]
  /** `http://<vip>:<port>`: what clients use. */
  readonly url: string
  /** Each node's nginx and keepalived by PID (and their children once healthy): what `stop()` stops; a stack records them to stop them later. */
  readonly processes: readonly [NodeProcesses, NodeProcesses]
  /** The node whose `eth0` has the VIP now (`ip -n <ns> addr show`), or undefined while none has. */
  holder(options?: { signal?: AbortSignal }): Promise<VipPairNode | undefined>
  /** Polls `holder()` until it is `name`; `E_NOT_HEALTHY` after `timeoutMs` (@default startTimeoutMs). */
  waitForHolder(
    name: 'lb1' | 'lb2',
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<VipPairNode>
  /** SIGKILLs a node's nginx (master and workers, by PID) and waits for them to exit; the PIDs. `E_NOT_RUNNING` when none ran. */
  killNginx(name: 'lb1' | 'lb2', options?: { signal?: AbortSignal }): Promise<number[]>
  /** Stops both keepalived, then both nginx, by PID; removes the directory if `startVipPair` made it. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** The handle `startVipPair` resolves with, over the processes it started. */
export function vipPairHandle(
  network: FrontNetwork,
  options: ResolvedVipPairOptions,
  dir: { path: string; created: boolean },
  nodes: [VipPairNode, VipPairNode],
  procs: readonly [NodeProcesses, NodeProcesses],
): VipPair {
  const index = (name: string) => {
    const i = nodes.findIndex((n) => n.name === name)
    if (i < 0)
      throw new StackError('E_INVALID_OPTION', `name must be lb1 or lb2, got '${name}'`, { option: 'name' })
    return i
  }
  const holder = ({ signal }: { signal?: AbortSignal } = {}) => vipHolder(nodes, network.vip, signal)
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= stopVipPair(procs, options, dir)
    return stopping
  }
  return {
    dir: dir.path,
    network,
    nodes,
    url: `http://${network.vip}:${options.port}`,
    processes: procs,
    holder,
    async waitForHolder(name, { signal, timeoutMs = options.startTimeoutMs } = {}) {
      const i = index(name)
      const want = nodes[i]!
      await waitUntil(
        // The wanted node's keepalived exiting ends the wait at once: it will never take the VIP.
        {
          component: `${name} keepalived`,
          name: `keepalived (${name})`,
          logs: nodes.map((n) => n.keepalivedLog),
          proc: procs[i]!.keepalived,
        },
        async (s) => {
          try {
            const now = await vipHolder(nodes, network.vip, s)
            return now === want
              ? { ok: true }
              : { ok: false, detail: `VIP held by ${now?.name ?? 'no node'}` }
          } catch (err) {
            return { ok: false, detail: (err as Error).message }
          }
        },
        { timeoutMs, signal, failure: `did not give ${name} the VIP ${network.vip}` },
      )
      return want
    },
    async killNginx(name, { signal } = {}) {
      signal?.throwIfAborted()
      const i = index(name)
      const killed = await killNginxProcesses(procs[i]!)
      if (killed.length === 0) {
        throw new StackError('E_NOT_RUNNING', `${name}: its nginx does not run`, {
          component: `${name} nginx`,
          dir: dir.path,
        })
      }
      options.log(`${name} nginx killed (pids ${killed.join(', ')})`)
      return killed
    },
    stop,
    [Symbol.asyncDispose]: stop,
  }
}

/** Stops every process of both nodes, in parallel; removes `dir` if it was made for the pair. */
export async function stopVipPair(
  procs: readonly NodeProcesses[],
  options: ResolvedVipPairOptions,
  dir: { path: string; created: boolean },
): Promise<void> {
  await Promise.all(procs.map((p) => stopNodeProcesses(p, options.stopTimeoutMs)))
  options.log(`VIP pair stopped (${dir.path})`)
  if (dir.created) await rm(dir.path, { recursive: true, force: true })
}

async function vipHolder(
  nodes: readonly VipPairNode[],
  vip: string,
  signal: AbortSignal | undefined,
): Promise<VipPairNode | undefined> {
  const held = await Promise.all(
    nodes.map(async (node) => {
      const links = await ipJson<Array<{ addr_info?: Array<{ local?: string }> }>>(
        ['-n', node.namespace, '-4', 'addr', 'show', 'dev', node.interface],
        { timeoutMs: 5000, signal },
      )
      return links.some((link) => link.addr_info?.some((a) => a.local === vip))
    }),
  )
  return nodes.find((_, i) => held[i])
}
