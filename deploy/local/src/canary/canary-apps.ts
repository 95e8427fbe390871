import { join } from 'node:path'
import { microblogSpec } from '../apps.js'
import type { UpContext } from '../context.js'
import { startProcess } from '../ensure-process.js'
import { portOffsets, stackPaths } from '../layout.js'
import { microblogEntry } from '../paths.js'
import { procInfo, stopProcess } from '../processes.js'
import type { ProcessRecord, StackState } from '../state.js'
import type { CanaryState } from './record.js'

/** `canary-1`…`canary-N` of `build`, from `basePort + 50`, not running yet. */
export function planCanaryApps(state: StackState, count: number, build: string): ProcessRecord[] {
  const entry = microblogEntry(build)
  return Array.from({ length: count }, (_, i) => {
    const name = `canary-${i + 1}`
    const port = state.settings.basePort + portOffsets.canary + i
    return {
      name,
      kind: 'canary',
      port,
      url: `http://127.0.0.1:${port}`,
      log: join(stackPaths(state.dir).logs, `${name}.log`),
      markers: [entry],
      pid: undefined,
      startTime: undefined,
    }
  })
}

/**
 * Starts the canary processes together, with the apps' settings, from the canary's build; resolves once
 * each answers `/readyz` (`E_NOT_HEALTHY` naming the one that did not).
 */
export async function startCanaryApps(ctx: UpContext, canary: CanaryState): Promise<void> {
  // Every start settles before this does: one that fails must not leave another spawning after the stop.
  const results = await Promise.allSettled(
    canary.apps.map(async (record) => {
      await startProcess(ctx, record, microblogSpec(ctx.state, record, canary.build))
      ctx.note(record, 'started')
    }),
  )
  const failure = results.find((r) => r.status === 'rejected')
  if (failure) throw failure.reason
}

/** Stops the canary processes (SIGTERM: they drain and exit; SIGKILL after a bound), by recorded PID. */
export async function stopCanaryApps(ctx: UpContext, canary: CanaryState): Promise<void> {
  await Promise.all(
    canary.apps.map(async (record) => {
      const pid = record.pid
      const outcome = await stopProcess(record, { timeoutMs: ctx.state.settings.drainMs + 15_000 })
      if (outcome !== 'not-running') ctx.options.log(`${record.name}: ${outcome} (pid ${pid})`)
    }),
  )
}

/** Whether the process that runs `canary`'s rollout is still alive (same PID, same start time). */
export function controllerAlive(canary: CanaryState): boolean {
  const info = procInfo(canary.controller.pid)
  return info !== undefined && info.startTime === canary.controller.startTime
}
