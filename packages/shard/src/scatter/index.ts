// Scatter-gather across shards: ordered merges with keyset cursors, aggregates, plain fan-outs.
export type { AggregateOp, AggregateSpec } from './aggregate-merge.js'
export type { OrderByColumn, OrderKeyType } from './order-key.js'
export { scatterQueryChannel } from './query-shard.js'
export { type ScatterAggregateOptions, scatterAggregate } from './scatter-aggregate.js'
export {
  type FailedShard,
  type LabelledRow,
  type ScatterAllOptions,
  type ScatterAllResult,
  scatterAll,
} from './scatter-all.js'
export { scatterDefaults } from './scatter-options.js'
export { type ScatterOrderedOptions, type ScatterOrderedPage, scatterOrdered } from './scatter-ordered.js'
export { type StreamOrderedOptions, streamOrdered } from './stream-ordered.js'
export type { ScatterHooks, ScatterTarget, ShardQueryEvent } from './target.js'
