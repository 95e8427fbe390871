import { parseShardMap, type ShardMap } from '../map/shard-map.js'
import { ident } from './pg-admin.js'
import type { ReshardPair, ReshardPlan } from './reshard-plan.js'

/** How a physical table of a source database takes part in a resharding. */
export interface ReshardTable {
  /** The physical table, e.g. `posts_07`. */
  readonly name: string
  readonly logical: string
  /**
   * `split`: spread by a key, half of its rows move; `copy`: a broadcast table, whole in every database;
   * `stay`: a keyless range table, kept by database 0 only.
   */
  readonly kind: 'split' | 'copy' | 'stay'
  /** `split`: the shard-key column. */
  readonly key?: string
  /** `split`: a boolean SQL expression true for rows that belong to the new database. */
  readonly moved?: string
  /** `split`: true for rows that belong to the source database once the new map is in use. */
  readonly kept?: string
}

/** Names of the replication objects of one pair: publications, slots and subscriptions (≤ 63 bytes). */
export function replicationNames(plan: ReshardPlan, pair: ReshardPair) {
  // Slots are named per server, not per database: the source database's name keeps two maps apart.
  const suffix = `${plan.id}_${pair.source.name}`
  return {
    /** On the source: what the new database copies. */
    forward: `hf_rs_${suffix}`,
    /** On the new database, after cutover: what the source follows until `complete`. */
    reverse: `hf_rsr_${suffix}`,
  }
}

/**
 * The physical tables of a source database by their logical table's rule, from the names the
 * database holds (range tables have one per period made).
 */
export function classifyTables(
  plan: ReshardPlan,
  pair: ReshardPair,
  present: readonly string[],
): ReshardTable[] {
  const from = parseShardMap(plan.from)
  const to = parseShardMap(plan.to)
  const out: ReshardTable[] = []
  for (const name of present) {
    // The migration records say what the copied tables hold: the new database has had them applied too.
    if (name === 'hf_shard_migrations' || name === 'hf_reshard_fence') {
      out.push({ name, logical: name, kind: 'copy' })
      continue
    }
    const logical = logicalOf(from, name)
    if (logical === undefined) continue
    const rule = from.rule(logical)
    if (rule.type === 'broadcast') out.push({ name, logical, kind: 'copy' })
    else if (rule.type === 'range' && rule.key === undefined) out.push({ name, logical, kind: 'stay' })
    else {
      const sql = to.hashSql(logical, ident(rule.key!))
      out.push({
        name,
        logical,
        kind: 'split',
        key: rule.key!,
        moved: `${sql.database} = ${pair.target.index}`,
        kept: `${sql.database} = ${pair.source.index}`,
      })
    }
  }
  return out
}

/** The logical table a physical name belongs to (longest logical name that prefixes it), or undefined. */
function logicalOf(map: ShardMap, physical: string): string | undefined {
  let best: string | undefined
  for (const logical of map.tableNames) {
    const rule = map.rule(logical)
    const matches =
      physical === logical ||
      (rule.type !== 'broadcast' &&
        physical.startsWith(`${logical}_`) &&
        /^[0-9][0-9a-z_]*$/.test(physical.slice(logical.length + 1)))
    if (matches && (best === undefined || logical.length > best.length)) best = logical
  }
  return best
}
