import { StackError } from './errors.js'
import { httpProbe, type Probe, postgresProbe, redisProbe } from './health.js'
import { frontProbe } from './nginx.js'
import { stackDir } from './options.js'
import { isRunning } from './processes.js'
import { allProcesses, type ProcessKind, type ProcessRecord, readState, type StackState } from './state.js'

/** One process as `status` sees it. */
export interface ProcessStatus {
  readonly name: string
  readonly kind: ProcessKind
  readonly pid: number | undefined
  readonly port: number
  readonly url: string
  readonly log: string
  /** Its recorded PID is alive and is still that process. */
  readonly running: boolean
  /** Running, and its health check passes. */
  readonly healthy: boolean
  /** Why it is not healthy. */
  readonly detail?: string
}

/** The stack in a directory, process by process. */
export interface StackStatus {
  readonly state: StackState
  readonly processes: readonly ProcessStatus[]
  /** Every process runs and is healthy. */
  readonly healthy: boolean
}

/** How `status` checks one process. */
export function probeFor(state: StackState, record: ProcessRecord): Probe {
  switch (record.kind) {
    case 'postgres':
      return postgresProbe(record.url, record !== state.postgres?.primary)
    case 'etcd':
      return httpProbe(`${record.url}/health`)
    case 'patroni':
      // 200 while its PostgreSQL runs, primary or replica: which one it is changes with a failover.
      return httpProbe(`http://127.0.0.1:${record.monitorPort}/health`)
    case 'redis':
      return redisProbe(record.port)
    case 'nats':
      return httpProbe(`http://127.0.0.1:${record.monitorPort}/healthz`)
    case 'nginx':
      return frontProbe(state)
    default:
      return httpProbe(`${record.url}/readyz`)
  }
}

/**
 * Checks every process of the stack in `dir`: alive (by recorded PID), then healthy (pg, PING,
 * `/healthz`, `/readyz`, nginx and an app through it). `E_NOT_RUNNING` when there is no stack there.
 *
 * @example
 * const { healthy, processes } = await stackStatus()
 */
export async function stackStatus(dir?: string): Promise<StackStatus> {
  const where = stackDir(dir)
  const state = await readState(where)
  if (!state) {
    throw new StackError('E_NOT_RUNNING', `no stack in ${where} (npm run stack starts one)`, { dir: where })
  }
  const processes = await Promise.all(
    allProcesses(state).map(async (record): Promise<ProcessStatus> => {
      const base = {
        name: record.name,
        kind: record.kind,
        pid: record.pid,
        port: record.port,
        url: record.url,
        log: record.log,
      }
      if (!isRunning(record)) return { ...base, running: false, healthy: false, detail: 'not running' }
      const result = await probeFor(state, record)(AbortSignal.timeout(3000))
      return {
        ...base,
        running: true,
        healthy: result.ok,
        ...(result.detail ? { detail: result.detail } : {}),
      }
    }),
  )
  return { state, processes, healthy: processes.every((p) => p.healthy) }
}

/** The state recorded in `dir` (default: `HF_STACK_DIR`, else the default directory), or undefined. */
export function readStackState(dir?: string): Promise<StackState | undefined> {
  return readState(stackDir(dir))
}
