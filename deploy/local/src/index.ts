/**
 * `@hundredfold/stack`: the real topology on one machine, from Debian packages — nginx in front of N
 * microblog processes, PostgreSQL primary + streaming replicas (PostGIS; with `ha`, under Patroni over a
 * 3-member etcd), Redis, NATS JetStream (with `ha`, three nodes), the ID service twice, and consumer processes — for `npm run stack` and for tools (bench, drills).
 *
 * @example
 * import { stackUp, stackDown } from '@hundredfold/stack'
 * const { state } = await stackUp({ apps: 2, replicas: 1 })
 * await fetch(`${state.frontUrl}/readyz`)
 * await stackDown(state.dir)
 */

export { type AbortCanaryOptions, abortCanary } from './canary/abort.js'
export {
  type CanaryOptions,
  canaryDefaults,
  parseShare,
  type ResolvedCanaryOptions,
  resolveCanaryOptions,
} from './canary/canary-options.js'
export { type FaultyBuildOptions, writeFaultyBuild } from './canary/faulty-build.js'
export { formatOutcome, formatStep } from './canary/format.js'
export {
  type JudgeRules,
  judgeDefaults,
  judgeStep,
  type PoolFigures,
  type StepAction,
  type StepInput,
  type Verdict,
  wilsonLowerBound,
} from './canary/judge.js'
export type {
  CanaryState,
  RolloutOutcome,
  RolloutRecord,
  RolloutStep,
  StepFigures,
} from './canary/record.js'
export { canaryRelease } from './canary/rollout.js'
export type { Outcome } from './context.js'
export { type StackDownResult, stackDown } from './down.js'
export { StackError, type StackErrorCode, type StackErrorContext } from './errors.js'
export { type ExtraDatabaseHostsOptions, setExtraDatabaseHosts } from './extra-database-hosts.js'
export { type KilledPrimary, killApp, killPrimary, killProcess, primaryDatabaseUrl } from './kill.js'
export { portOffsets } from './layout.js'
export {
  type ResolvedStackOptions,
  resolveStackOptions,
  type StackOptions,
  stackDefaults,
  stackDir,
} from './options.js'
export { patroniCluster } from './patroni-stack.js'
export type { RestartEvent } from './restart.js'
export { type RestartAppsOptions, restartApps } from './restart-apps.js'
export { stackVipId, vipIsUp } from './stack-vip.js'
export {
  natsNodes,
  type PatroniState,
  type ProcessKind,
  type ProcessRecord,
  type StackSettings,
  type StackState,
  type VipState,
} from './state.js'
export { type ProcessStatus, readStackState, type StackStatus, stackStatus } from './status.js'
export { formatDown, formatStatus, formatUpSummary } from './summary.js'
export { type StackUpResult, stackUp } from './up.js'
