import type { RangeInterval } from './shard-map-document.js'

/** A server of a parsed map. */
export interface ShardServer {
  readonly name: string
  /** `postgres://user@host:port`, without a database name. */
  readonly primary: string
  readonly replicas: readonly string[]
}

/** A hash rule with its defaults applied. */
export interface HashRule {
  readonly type: 'hash'
  readonly key: string
  readonly tables: number
  readonly binding: string | undefined
}

/** A range rule with its defaults applied (`tables` is 1 and `binding` undefined without a `key`). */
export interface RangeRule {
  readonly type: 'range'
  readonly key: string | undefined
  readonly rangeColumn: string
  readonly interval: RangeInterval
  readonly ahead: number
  readonly from: string | undefined
  readonly tables: number
  readonly binding: string | undefined
}

/** A lookup rule with its defaults applied. */
export interface LookupRule {
  readonly type: 'lookup'
  readonly key: string
  readonly value: string
  readonly target: string
  readonly tables: number
}

/** A broadcast rule. */
export interface BroadcastRule {
  readonly type: 'broadcast'
}

/** The rule of one logical table, defaults applied. */
export type TableRule = HashRule | RangeRule | LookupRule | BroadcastRule
