import type { CallOptions, QueryResult } from '@hundredfold/pg'
import type { ShardLocation } from '../map/shard-location.js'
import type { ShardRuntime } from './shard-runtime.js'

/**
 * One physical table as a fan-out target: what the scatter-gather module sends a statement to.
 * `query` rewrites `{name}` tokens (`{table}` is this target's table) for this physical table.
 */
export interface ShardQueryTarget {
  /** `database.physicalTable`, e.g. `app_03.posts_07`. */
  readonly label: string
  readonly database: string
  /** The physical table. */
  readonly table: string
  readonly location: ShardLocation
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: CallOptions,
  ): Promise<QueryResult<Row>>
}

/** Options of `router.targets`. */
export interface TargetsOptions {
  /** Send statements where reads go (a fit replica) instead of the primary. @default false */
  readOnly?: boolean
}

/** Every physical table of a logical table as a target (range tables: each period made). @internal */
export function queryTargets(runtime: ShardRuntime, table: string, readOnly: boolean): ShardQueryTarget[] {
  const compiled = runtime.map.compiled(table)
  const periods = compiled.rule.type === 'range' ? runtime.periods.list(table) : undefined
  const kind = readOnly ? 'read' : 'query'
  return compiled.locations(periods).map((location) =>
    Object.freeze({
      label: location.label,
      database: location.database,
      table: location.physicalTable,
      location,
      query: <Row>(sql: string, params?: readonly unknown[], options?: CallOptions) =>
        runtime.run<Row>(location, kind, sql, params, options),
    }),
  )
}
