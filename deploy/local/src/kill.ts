import { StackError } from './errors.js'
import { stackDir } from './options.js'
import { isRunning, waitForExit } from './processes.js'
import { readState } from './state.js'

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
