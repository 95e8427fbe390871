export type { RouterSwitch, SwitchReport } from '../switch/switch-routers.js'
export type { PairStatus } from './pair-steps.js'
export {
  type PlanDoublingOptions,
  planDoubling,
  type ReshardDatabase,
  type ReshardPair,
  type ReshardPlan,
} from './reshard-plan.js'
export type { ReshardTable } from './reshard-sql.js'
export type { ReshardRecord, ReshardState } from './reshard-store.js'
export { Resharding, type ReshardStatus } from './resharding.js'
export { reshardSwitchDefaults, type StepOptions, type SwitchOptions } from './switch-options.js'
export type { ChunkSum, Mismatch, VerifyReport } from './verify.js'
