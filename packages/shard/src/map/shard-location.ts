import type { NamingScope } from './naming-scope.js'
import type { ShardServer } from './table-rule.js'

/**
 * One physical table: where a logical table's row lives. Made once per map (and period) and reused,
 * so resolving a key allocates nothing but the hash.
 */
export interface ShardLocation {
  /** The logical table. */
  readonly table: string
  /** The physical table, e.g. `posts_07` or `posts_07_202612`. */
  readonly physicalTable: string
  /** The physical database, e.g. `app_03`. */
  readonly database: string
  readonly databaseIndex: number
  readonly tableIndex: number
  readonly server: ShardServer
  /** Range tables: the period's ordinal (see `periodOf`) and name (`202612`). */
  readonly period: number | undefined
  readonly periodName: string | undefined
  /** `database.physicalTable`, for errors, metrics and scatter targets. */
  readonly label: string
  /** The `{name}` tokens a statement on this location may use, and what they become. */
  readonly scope: NamingScope
}
