import { dropOrphanCanary } from './canary/take-out.js'
import { createContext } from './context.js'
import { StackError } from './errors.js'
import { withLock } from './lock.js'
import { resolveStackOptions, stackDir } from './options.js'
import { type RestartEvent, rollMicroblogs } from './restart.js'
import { readState, type StackState } from './state.js'

/** Options of {@link restartApps}. */
export interface RestartAppsOptions {
  /** Restart the consumer processes too, after the apps. @default true */
  consumers?: boolean
  /** Told after each process is back and healthy (a drill measures around it). */
  onEach?: (event: RestartEvent) => void | Promise<void>
  /** Told of each step. @default silent */
  log?: (line: string) => void
  /** Bounds each health wait. @default 60000 */
  healthTimeoutMs?: number
  /** Stops the roll between two processes (the one restarting is finished and back in the upstream first). */
  signal?: AbortSignal
}

/**
 * A release without downtime: the apps restart one at a time, each out of nginx's upstream while it
 * drains and starts (see `rollMicroblogs`), with the settings they were started with; then the
 * consumers. Resolves with the new state.
 *
 * @example
 * await restartApps(undefined, { onEach: (e) => console.log(`${e.name}: ${e.oldPid} → ${e.pid}`) })
 */
export async function restartApps(dir?: string, options: RestartAppsOptions = {}): Promise<StackState> {
  const where = stackDir(dir)
  return withLock(where, async () => {
    const state = await readState(where)
    if (!state)
      throw new StackError('E_NOT_RUNNING', `no stack in ${where} (npm run stack starts one)`, { dir: where })
    const resolved = resolveStackOptions(
      {
        dir: where,
        env: {},
        ...(options.log ? { log: options.log } : {}),
        ...(options.healthTimeoutMs ? { healthTimeoutMs: options.healthTimeoutMs } : {}),
      },
      state.settings,
    )
    const ctx = createContext(resolved, state)
    await dropOrphanCanary(ctx)
    await rollMicroblogs(
      ctx,
      [...state.apps, ...(options.consumers === false ? [] : state.consumers)],
      options.onEach,
      options.signal,
    )
    await ctx.save()
    return state
  })
}
