import type { RolloutRecord, RolloutStep, StepFigures } from './record.js'

const figures = (f: StepFigures): string =>
  `${f.requests} req, 5xx ${(f.errorRate * 100).toFixed(2)}%, p99 ${f.p99Ms === null ? '-' : `${f.p99Ms} ms`}`

/**
 * One step as the rollout prints it.
 *
 * @example
 * // step 1/4 at 1%, 9.5 s: canary 41 req, 5xx 58.54%, p99 3.1 ms | baseline 3,801 req (step) … → rollback: …
 */
export function formatStep(step: RolloutStep, index: number, total: number): string {
  return `step ${index + 1}/${total} at ${step.sharePct}%, ${step.heldS} s: canary ${figures(step.canary)} | baseline ${figures(step.baseline)}${step.baseline.source === 'rollout' ? ' (rollout so far)' : ''} → ${step.action}: ${step.reason}`
}

/** The rollout's last line. */
export function formatOutcome(record: RolloutRecord): string {
  const served = record.served
    ? `; the canary served ${record.served.canary.requests} requests (${record.served.canary.errors} 5xx) of ${record.served.canary.requests + record.served.baseline.requests}`
    : ''
  const timing =
    record.outcome === 'promoted'
      ? `; restarted on it: ${record.promotedProcesses?.join(', ') || 'nothing'}`
      : record.exposedS !== undefined
        ? `; exposed ${record.exposedS} s, share 0 ${record.rollbackS} s after the verdict`
        : ''
  return `canary ${record.id} ${record.outcome}: ${record.reason}${served}${timing}`
}
