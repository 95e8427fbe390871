import type { UpContext } from '../context.js'
import { reloadNginx, writeNginxConf } from '../nginx.js'
import { isRunning } from '../processes.js'
import type { StackState } from '../state.js'
import { controllerAlive, stopCanaryApps } from './canary-apps.js'
import { judgeDefaults } from './judge.js'
import type { CanaryState, RolloutOutcome, RolloutRecord } from './record.js'

/** How many rollouts `stack.json` keeps. */
const KEPT_ROLLOUTS = 20

/**
 * Takes the canary out of the stack: its share to 0 (nginx reloaded without the split; resolves that
 * step only once every old worker has finished, so nothing is sent to the canary from then on), then
 * its processes stopped (they drain), then `state.canary` removed. Resolves with when the share was 0.
 */
export async function takeCanaryOut(ctx: UpContext, canary: CanaryState): Promise<number> {
  const { state } = ctx
  canary.sharePct = 0
  await ctx.save()
  if ((await writeNginxConf(state)) && isRunning(state.nginx)) await reloadNginx(state)
  const zeroAt = Date.now()
  await stopCanaryApps(ctx, canary)
  state.canary = undefined
  await ctx.save()
  return zeroAt
}

/** Adds `record` to the state's rollouts (the last {@link KEPT_ROLLOUTS}), or finds it there. */
export function recordRollout(state: StackState, record: RolloutRecord): void {
  const rollouts = state.rollouts ?? []
  if (!rollouts.includes(record)) rollouts.push(record)
  state.rollouts = rollouts.slice(-KEPT_ROLLOUTS)
}

/**
 * A canary whose controller is gone (killed, crashed) has nobody judging it: takes it out and records
 * its rollout as `outcome` with `reason`. Resolves with the record, or undefined when there was no such
 * canary.
 */
export async function dropOrphanCanary(
  ctx: UpContext,
  outcome: RolloutOutcome = 'aborted',
  reason?: string,
): Promise<RolloutRecord | undefined> {
  const canary = ctx.state.canary
  if (!canary || controllerAlive(canary)) return undefined
  const why = reason ?? `its rollout's controller (pid ${canary.controller.pid}) is gone`
  ctx.options.log(`canary ${canary.id} at ${canary.sharePct}%: ${why}; taking it out`)
  const record = ctx.state.rollouts?.find((r) => r.id === canary.id) ?? orphanRecord(canary)
  await takeCanaryOut(ctx, canary)
  record.outcome = outcome
  record.reason = why
  record.endedAt = new Date().toISOString()
  recordRollout(ctx.state, record)
  await ctx.save()
  return record
}

/** A record for a canary whose own is missing (the controller records it with `state.canary`, so rarely). */
function orphanRecord(canary: CanaryState): RolloutRecord {
  return {
    id: canary.id,
    build: canary.build,
    canaryApps: canary.apps.length,
    plannedSteps: [],
    stepS: 0,
    rules: judgeDefaults,
    startedAt: canary.startedAt,
    steps: [],
  }
}
