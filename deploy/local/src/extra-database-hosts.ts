import { StackError } from './errors.js'
import { withLock } from './lock.js'
import { stackDir } from './options.js'
import { restartApps } from './restart-apps.js'
import { readState, type StackState, writeState } from './state.js'

/** Options of {@link setExtraDatabaseHosts}. */
export interface ExtraDatabaseHostsOptions {
  /** Told of each step. @default silent */
  log?: (line: string) => void
  /** Stops the roll between two processes. */
  signal?: AbortSignal
}

/**
 * Sets the database hosts the `--ha` stack's apps and consumers use beside the Patroni members (say a
 * replica in a network namespace), then rolls them onto it one at a time, as `restart apps` does —
 * `@hundredfold/pg` takes its host list when a process starts. `[]` takes them out again. Nothing is
 * rolled when the list is already that.
 *
 * @example
 * await setExtraDatabaseHosts(dir, ['postgres://postgres@10.232.7.2:5432/microblog'])
 * await setExtraDatabaseHosts(dir, [])
 */
export async function setExtraDatabaseHosts(
  dir: string | undefined,
  hosts: readonly string[],
  options: ExtraDatabaseHostsOptions = {},
): Promise<StackState> {
  const where = stackDir(dir)
  const changed = await withLock(where, async () => {
    const state = await readState(where)
    if (!state) {
      throw new StackError('E_NOT_RUNNING', `no stack in ${where} (npm run stack starts one)`, { dir: where })
    }
    if (!state.databaseHosts?.length) {
      throw new StackError(
        'E_INVALID_OPTION',
        'extra database hosts need the --ha stack (its apps discover roles from HF_DATABASE_HOSTS)',
        { option: '--ha' },
      )
    }
    const before = state.extraDatabaseHosts ?? []
    if (before.length === hosts.length && before.every((h, i) => h === hosts[i])) return undefined
    if (hosts.length > 0) state.extraDatabaseHosts = [...hosts]
    else delete state.extraDatabaseHosts
    await writeState(state)
    return state
  })
  if (!changed) return (await readState(where))!
  return restartApps(where, { ...options })
}
