export {
  type PlanDoublingOptions,
  planDoubling,
  type ReshardDatabase,
  type ReshardPair,
  type ReshardPlan,
} from './reshard-plan.js'
export type { ReshardTable } from './reshard-sql.js'
export type { ReshardRecord, ReshardState } from './reshard-store.js'
export {
  type PairStatus,
  Resharding,
  type ReshardStatus,
  type StepOptions,
  type SwitchReport,
} from './resharding.js'
export type { ChunkSum, Mismatch, VerifyReport } from './verify.js'
