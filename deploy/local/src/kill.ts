import { StackError } from './errors.js'
import { stackDir } from './options.js'
import { patroniCluster } from './patroni-stack.js'
import { isRunning, waitForExit } from './processes.js'
import { allProcesses, readState, type StackState } from './state.js'

const ending = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT'])

/**
 * Sends `signal` to app `index` (0-based, `state.apps[index]`) — for drills: SIGKILL is a crash,
 * SIGTERM a drain. Resolves with the PID, after it has exited for SIGKILL, SIGTERM, SIGINT and SIGQUIT
 * (at once for others: SIGSTOP freezes it). `npm run stack`
 * (or `stackUp`) starts it again.
 *
 * @example
 * await killApp(undefined, 0, 'SIGKILL')
 */
export async function killApp(
  dir: string | undefined,
  index: number,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<number> {
  const where = stackDir(dir)
  const state = await readState(where)
  const record = state?.apps[index]
  if (!state || !record) {
    throw new StackError('E_NOT_RUNNING', `no app ${index} in the stack in ${where}`, { dir: where })
  }
  if (!isRunning(record)) {
    throw new StackError('E_NOT_RUNNING', `${record.name} is not running`, {
      dir: where,
      component: record.name,
    })
  }
  const pid = record.pid!
  process.kill(pid, signal)
  if (ending.has(signal)) await waitForExit(pid, state.settings.drainMs + 15_000)
  return pid
}

/** What `killPrimary` did: the member that was the primary, and the PIDs it signalled. */
export interface KilledPrimary {
  /** `pg-1`…: the member that held the leader key. */
  readonly member: string
  readonly postmaster?: number
  readonly patroni?: number
}

/**
 * `--ha`: sends `signal` to the PostgreSQL primary's postmaster and its Patroni (the member's machine
 * failing), found through Patroni's REST API, and waits for both to exit; Patroni promotes a replica
 * within its TTL. `npm run stack` (or `stackUp`) starts the member again, and it rejoins as a replica.
 * `E_NOT_RUNNING` when the stack has no `--ha` or no member is the primary.
 *
 * @example
 * const { member } = await killPrimary(undefined)
 */
export async function killPrimary(
  dir: string | undefined,
  signal: NodeJS.Signals = 'SIGKILL',
  options: { signal?: AbortSignal } = {},
): Promise<KilledPrimary> {
  const where = stackDir(dir)
  const state = await readState(where)
  if (!state?.patroni) {
    throw new StackError('E_NOT_RUNNING', `no --ha stack in ${where} (npm run stack -- --ha starts one)`, {
      dir: where,
    })
  }
  const cluster = patroniCluster(state)
  const primary = await cluster.primary(options.signal ? { signal: options.signal } : {})
  if (!primary) {
    throw new StackError('E_NOT_RUNNING', `no member of the stack in ${where} is the primary`, { dir: where })
  }
  const killed = await cluster.kill(primary, signal, {
    target: 'both',
    ...(options.signal ? { signal: options.signal } : {}),
  })
  return { member: primary.name, ...killed }
}

/**
 * The `microblog` database of the stack's PostgreSQL primary now: `databaseUrl`, or with `--ha` the
 * member Patroni names the primary (`E_NOT_RUNNING` when none does).
 */
export async function primaryDatabaseUrl(
  state: StackState,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  if (!state.patroni) return state.databaseUrl
  const primary = await patroniCluster(state).primary(options.signal ? { signal: options.signal } : {})
  const record = state.patroni.members.find((m) => m.name === primary?.name)
  if (!record) {
    throw new StackError('E_NOT_RUNNING', `no member of the stack in ${state.dir} is the primary`, {
      dir: state.dir,
    })
  }
  return record.url
}

/**
 * Sends `signal` to the stack's process named `name` (`redis`, `nats` or with `--ha`
 * `nats-1`…`nats-3`, `id-service-1`, `consumer-1`…;
 * apps have `killApp`, PostgreSQL under Patroni `killPrimary`) and, for an ending signal, waits for it
 * to exit — for drills. `npm run stack` starts it again. Resolves with its PID; `E_NOT_RUNNING` when
 * there is no such process or it does not run.
 *
 * @example
 * await killProcess(undefined, 'redis')
 */
export async function killProcess(
  dir: string | undefined,
  name: string,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<number> {
  const where = stackDir(dir)
  const state = await readState(where)
  const record = state ? allProcesses(state).find((r) => r.name === name) : undefined
  if (!state || !record || !isRunning(record)) {
    throw new StackError('E_NOT_RUNNING', `no running process '${name}' in the stack in ${where}`, {
      dir: where,
      component: name,
    })
  }
  const pid = record.pid!
  process.kill(pid, signal)
  if (ending.has(signal)) await waitForExit(pid, 15_000)
  return pid
}
