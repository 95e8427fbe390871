import { rm } from 'node:fs/promises'
import { StackError } from '../errors.js'
import { waitForExit } from '../processes.js'
import { primaryOf } from './cluster-probes.js'
import type { EtcdMemberLayout, HaLayout, PatroniMemberLayout } from './ha-layout.js'
import { type HaProcess, postmasterOf, signalHaProcess } from './ha-process.js'
import type { ResolvedPatroniOptions } from './patroni-options.js'
import { type PatroniTopology, patroniGet } from './patroni-rest.js'
import { type HaProcesses, stopCluster } from './stop-cluster.js'
import { waitUntil } from './wait-until.js'

/** One PostgreSQL member of a Patroni cluster: where its server and its Patroni listen, its files. */
export type PatroniMember = PatroniMemberLayout

/** One etcd member of a Patroni cluster. */
export type EtcdMember = EtcdMemberLayout

/** Which processes of a member `kill` signals: `both` is the member's machine failing. */
export type KillTarget = 'postmaster' | 'patroni' | 'both'

/** A running Patroni cluster: its etcd members and the PostgreSQL members one Patroni each runs. */
export interface PatroniCluster {
  /** Where everything lives: `etcd-N/`, `pg-N/` (config, data, sockets), `logs/`. */
  readonly dir: string
  readonly members: readonly PatroniMember[]
  readonly etcd: readonly EtcdMember[]
  /** The member that runs PostgreSQL read-write and holds the leader key, as their REST APIs say now. */
  primary(options?: { signal?: AbortSignal }): Promise<PatroniMember | undefined>
  /** Polls `primary()` until it names a member outside `exclude`; `E_NOT_HEALTHY` after `timeoutMs` (@default startTimeoutMs). */
  waitForPrimary(options?: {
    signal?: AbortSignal
    exclude?: ReadonlyArray<PatroniMember | string>
    timeoutMs?: number
  }): Promise<PatroniMember>
  /** `GET /cluster` of the first member that answers: roles (`leader`, `sync_standby`, `replica`), lag. */
  topology(options?: { signal?: AbortSignal }): Promise<PatroniTopology>
  /**
   * Sends `signal` to a member's postmaster (PID from `postmaster.pid`), its Patroni, or both, and
   * waits for them to exit when it ends them. Resolves with the PIDs signalled; `E_NOT_RUNNING`
   * when none of them runs.
   */
  kill(
    member: PatroniMember | string,
    signal?: NodeJS.Signals,
    options?: { target?: KillTarget; signal?: AbortSignal },
  ): Promise<{ postmaster?: number; patroni?: number }>
  /** Stops every Patroni, any postmaster left behind, then etcd, by PID. Keeps the directory. */
  stop(): Promise<void>
  /** `stop()`, then removes the directory. */
  destroy(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const ending = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT'])

/** The handle `startPatroniCluster` resolves with, over the processes it started. */
export function clusterHandle(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  procs: HaProcesses,
): PatroniCluster {
  const members = layout.members
  const find = (member: PatroniMember | string): { member: PatroniMember; patroni: HaProcess } => {
    const name = typeof member === 'string' ? member : member.name
    const index = members.findIndex((m) => m.name === name)
    if (index < 0) {
      const names = members.map((m) => m.name).join(', ')
      throw new StackError('E_INVALID_OPTION', `member must be one of ${names}, got '${name}'`, {
        option: 'member',
      })
    }
    return { member: members[index]!, patroni: procs.patroni[index]! }
  }
  const stop = () => stopCluster(layout, procs, options.stopTimeoutMs, options.log)
  const destroy = async () => {
    await stop()
    await rm(layout.dir, { recursive: true, force: true })
  }
  return {
    dir: layout.dir,
    members,
    etcd: layout.etcd,
    async primary({ signal } = {}) {
      return (await primaryOf(members, signal))?.member
    },
    async waitForPrimary({ signal, exclude = [], timeoutMs = options.startTimeoutMs } = {}) {
      const excluded = new Set(exclude.map((m) => (typeof m === 'string' ? m : m.name)))
      const candidates = members.filter((m) => !excluded.has(m.name))
      let found: PatroniMember | undefined
      await waitUntil(
        {
          component: 'patroni',
          name: `Patroni (${candidates.map((m) => m.name).join(', ')})`,
          logs: candidates.map((m) => m.log),
        },
        async (s) => {
          found = (await primaryOf(candidates, s))?.member
          return found ? { ok: true } : { ok: false, detail: 'no member answers GET /primary with 200' }
        },
        { timeoutMs, signal, failure: 'elected no primary' },
      )
      return found!
    },
    async topology({ signal } = {}) {
      for (const member of members) {
        const answer = await patroniGet<PatroniTopology>(member.restUrl, '/cluster', signal)
        if (answer?.status === 200 && answer.body) return answer.body
      }
      throw new StackError('E_NOT_RUNNING', `no member of ${layout.dir} answers GET /cluster`, {
        dir: layout.dir,
      })
    },
    async kill(which, signal = 'SIGKILL', { target = 'both', signal: abort } = {}) {
      abort?.throwIfAborted()
      const { member, patroni } = find(which)
      const postmaster = target === 'patroni' ? undefined : await postmasterOf(member)
      const killed: { postmaster?: number; patroni?: number } = {}
      if (target !== 'postmaster' && signalHaProcess(patroni, signal)) killed.patroni = patroni.pid!
      if (postmaster && signalHaProcess(postmaster, signal)) killed.postmaster = postmaster.pid!
      if (killed.patroni === undefined && killed.postmaster === undefined) {
        const what = target === 'both' ? 'neither its postmaster nor its Patroni' : `its ${target}`
        throw new StackError('E_NOT_RUNNING', `${member.name}: ${what} runs`, {
          component: member.name,
          dir: layout.dir,
        })
      }
      if (ending.has(signal)) {
        await Promise.all(
          [killed.patroni, killed.postmaster].map((pid) =>
            pid === undefined ? true : waitForExit(pid, 15_000),
          ),
        )
      }
      return killed
    },
    stop,
    destroy,
    [Symbol.asyncDispose]: destroy,
  }
}
