import { readdir, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isAlive } from './ha/ha-process.js'
import { stackPaths } from './layout.js'
import { withLock } from './lock.js'
import { stopNginx } from './nginx.js'
import { stackDir } from './options.js'
import { stopPatroni } from './patroni-stack.js'
import { stopPostgres } from './postgres.js'
import { isRunning, stopProcess } from './processes.js'
import { removeVip } from './stack-vip.js'
import { natsNodes, type ProcessRecord, readState, statePath, writeState } from './state.js'

/** What `stackDown` did to each process. */
export interface StackDownResult {
  readonly dir: string
  /** False when there was no stack in `dir`. */
  readonly found: boolean
  readonly stopped: ReadonlyArray<{
    name: string
    pid: number | undefined
    outcome: 'stopped' | 'killed' | 'not-running'
  }>
  readonly purged: boolean
}

/**
 * Stops the stack in reverse order, each process by its recorded PID, and only when that PID is
 * still the process the stack started (its start time and command line match). PostgreSQL stops
 * with `pg_ctl stop -m fast`. The VIP pair (`--vip`) goes first: its processes, then its namespaces
 * and link. Data stays, unless `purge`.
 *
 * @example
 * await stackDown('/var/tmp/hundredfold-stack', { purge: true })
 */
export async function stackDown(
  dir?: string,
  options: { purge?: boolean; log?: (line: string) => void } = {},
): Promise<StackDownResult> {
  const where = stackDir(dir)
  const log = options.log ?? (() => {})
  const state = await readState(where)
  if (!state) return { dir: where, found: false, stopped: [], purged: false }
  const result = await withLock(where, async () => {
    const stopped: Array<StackDownResult['stopped'][number]> = []
    const step = async (
      record: ProcessRecord,
      stop: (r: ProcessRecord) => Promise<StackDownResult['stopped'][number]['outcome']>,
    ) => {
      const pid = record.pid
      const outcome = await stop(record)
      stopped.push({ name: record.name, pid, outcome })
      if (outcome !== 'not-running') log(`${record.name}: ${outcome} (pid ${pid})`)
      await writeState(state)
    }
    const term = (timeoutMs: number) => (r: ProcessRecord) => stopProcess(r, { signal: 'SIGTERM', timeoutMs })
    if (state.vip) {
      const names = state.vip.nodes.flatMap((n) => [n.keepalived, n.nginx])
      const before = names.map((p) => ({ name: p.name, pid: p.pid, was: isAlive(p) }))
      await removeVip(state, log)
      for (const { name, pid, was } of before)
        stopped.push({ name, pid, outcome: was ? 'stopped' : 'not-running' })
      await writeState(state)
    } else {
      await removeVip(state, log) // leftovers of a crashed `up --vip`, by this stack's names
    }
    await step(state.nginx, stopNginx)
    const microblogs = term(state.settings.drainMs + 15_000)
    const canaries = state.canary?.apps ?? []
    await Promise.all([...state.apps, ...canaries, ...state.consumers].map((r) => step(r, microblogs)))
    await Promise.all(state.idServices.map((r) => step(r, term(15_000))))
    await Promise.all(natsNodes(state).map((r) => step(r, term(15_000))))
    await step(state.redis, term(15_000))
    if (state.postgres) {
      for (const replica of state.postgres.replicas) await step(replica, stopPostgres)
      await step(state.postgres.primary, stopPostgres)
    }
    if (state.patroni) {
      const before = [...state.patroni.members, ...state.patroni.etcd].map((r) => ({
        r,
        pid: r.pid,
        was: isRunning(r),
      }))
      await stopPatroni(state, log)
      for (const { r, pid, was } of before) {
        stopped.push({ name: r.name, pid, outcome: was ? 'stopped' : 'not-running' })
        r.pid = undefined
      }
      await writeState(state)
    }
    let purged = false
    if (options.purge) {
      const paths = stackPaths(where)
      // Only what the stack made: a directory given with --dir may hold other things.
      const leftovers = (await readdir(where)).filter((name) => /^stack\.json\.[0-9a-f]+\.tmp$/.test(name))
      for (const path of [
        paths.postgres,
        paths.patroni,
        paths.redis,
        paths.nats,
        paths.nginx,
        paths.vip,
        paths.logs,
        statePath(where),
        ...leftovers.map((name) => join(where, name)),
      ]) {
        await rm(path, { recursive: true, force: true })
      }
      purged = true
      log(`purged ${where}`)
    }
    return { dir: where, found: true, stopped, purged }
  })
  // Empty once purged and unlocked (a --dir that held other things stays).
  if (result.purged) await rmdir(where).catch(() => {})
  return result
}
