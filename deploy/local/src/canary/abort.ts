import { writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { createContext } from '../context.js'
import { StackError } from '../errors.js'
import { stackPaths } from '../layout.js'
import { withLock } from '../lock.js'
import { resolveStackOptions, stackDir } from '../options.js'
import { readState } from '../state.js'
import { controllerAlive } from './canary-apps.js'
import type { RolloutRecord } from './record.js'
import { dropOrphanCanary } from './take-out.js'

/** Options of {@link abortCanary}. */
export interface AbortCanaryOptions {
  /** Told what happens. @default silent */
  log?: (line: string) => void
  /** How long to wait for the rollout's controller to roll back. @default 60000 */
  timeoutMs?: number
  /** Stops the wait (the abort asked for stands). */
  signal?: AbortSignal
}

/**
 * Rolls back the canary of the stack in `dir`: asks the rollout's controller to (it rolls back within
 * a poll: share 0, nginx reloaded, canary stopped) and waits until it has; when the controller is gone,
 * does it itself. Resolves with the rollout's record (outcome `aborted`), or undefined when no canary
 * runs there. `E_BUSY` when the controller did not finish within `timeoutMs`.
 *
 * @example
 * const record = await abortCanary(undefined)
 */
export async function abortCanary(
  dir?: string,
  options: AbortCanaryOptions = {},
): Promise<RolloutRecord | undefined> {
  const where = stackDir(dir)
  const log = options.log ?? (() => {})
  const state = await readState(where)
  const canary = state?.canary
  if (!canary) return undefined
  const find = (rollouts: readonly RolloutRecord[] | undefined) => rollouts?.find((r) => r.id === canary.id)
  if (controllerAlive(canary)) {
    log(`asking the rollout's controller (pid ${canary.controller.pid}) to roll canary ${canary.id} back`)
    await writeFile(stackPaths(where).canaryAbort, `${process.pid}\n`)
    const deadline = Date.now() + (options.timeoutMs ?? 60_000)
    for (;;) {
      await sleep(200, undefined, options.signal ? { signal: options.signal } : {})
      const now = await readState(where)
      if (!now?.canary || now.canary.id !== canary.id) {
        // The controller takes the canary out of the state before it writes the rollout's outcome:
        // wait for the record to say how it ended (or the deadline).
        const record = find(now?.rollouts)
        if (record?.outcome !== undefined || Date.now() > deadline) return record
        continue
      }
      if (!controllerAlive(now.canary)) break
      if (Date.now() > deadline) {
        throw new StackError(
          'E_BUSY',
          `the rollout's controller (pid ${canary.controller.pid}) has not rolled canary ${canary.id} back within ${options.timeoutMs ?? 60_000} ms`,
          { dir: where },
        )
      }
    }
  }
  return withLock(where, async () => {
    const current = await readState(where)
    if (!current?.canary) return find(current?.rollouts)
    const ctx = createContext(resolveStackOptions({ dir: where, env: {}, log }, current.settings), current)
    return dropOrphanCanary(
      ctx,
      'aborted',
      'aborted by `npm run stack -- canary --abort` (its controller was gone)',
    )
  })
}
