import type { ProcessRecord } from '../state.js'
import type { JudgeRules, PoolFigures, StepAction } from './judge.js'

/** A canary while its rollout runs, as `stack.json` records it (`state.canary`). */
export interface CanaryState {
  /** The rollout's id (also in its {@link RolloutRecord}). */
  readonly id: string
  /** The build directory the canary processes run (`<build>/dist/main.js`). */
  readonly build: string
  /** The share of requests nginx sends to the canary now, in percent (0: none, the split is off). */
  sharePct: number
  /** `canary-1`… (kind `canary`), from `basePort + 50`. */
  apps: ProcessRecord[]
  /** The process running the rollout: while it lives it holds the stack's lock and decides. */
  readonly controller: { readonly pid: number; readonly startTime: number | undefined }
  readonly startedAt: string
}

/** How a rollout ended. */
export type RolloutOutcome = 'promoted' | 'rolled-back' | 'aborted'

/** One step of a rollout as it was judged. */
export interface RolloutStep {
  readonly sharePct: number
  /** From the moment the share took effect (nginx reloaded) to the verdict. */
  readonly heldS: number
  readonly action: Exclude<StepAction, 'hold'>
  readonly reason: string
  readonly canary: StepFigures
  /** The baseline the canary was compared with: the same step's, or at 100% the rollout's so far. */
  readonly baseline: StepFigures & { readonly source: 'step' | 'rollout' }
}

/** What one side served, with its 5xx share. */
export interface StepFigures extends PoolFigures {
  /** `errors / requests` (0 with no requests). */
  readonly errorRate: number
}

/** A rollout from start to end: written to `stack.json` (`state.rollouts`, the last 20) and printed. */
export interface RolloutRecord {
  readonly id: string
  readonly build: string
  readonly canaryApps: number
  /** The shares it was to go through, in percent. */
  readonly plannedSteps: readonly number[]
  readonly stepS: number
  readonly rules: JudgeRules
  readonly startedAt: string
  /** The canary processes as they were started (their PIDs are gone once the rollout ends). */
  canaryProcesses?: ReadonlyArray<{
    readonly name: string
    readonly pid: number | undefined
    readonly port: number
  }>
  endedAt?: string
  outcome?: RolloutOutcome
  reason?: string
  steps: RolloutStep[]
  /**
   * Everything each side served from the canary's first request to the moment its share was 0 again
   * and nginx's old workers had finished — including what the canary answered after the verdict, while
   * nginx reloaded.
   */
  served?: { readonly canary: StepFigures; readonly baseline: StepFigures }
  /** Rolled back: from the canary's first share to its share being 0 again (nginx reloaded). */
  exposedS?: number
  /** Rolled back or aborted: how long from the verdict to the share being 0. */
  rollbackS?: number
  /** Promoted: the apps and consumers now run `build` (restarted one at a time). */
  promotedProcesses?: string[]
}

/** A step's figures with the error rate worked out. */
export function withRate(figures: PoolFigures): StepFigures {
  return {
    ...figures,
    errorRate: figures.requests > 0 ? round(figures.errors / figures.requests, 5) : 0,
    p99Ms: figures.p99Ms === null ? null : round(figures.p99Ms, 1),
  }
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
