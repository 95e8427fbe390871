import { ShardError } from '../errors.js'
import { AggregateAccumulator, type AggregateOp, type AggregateSpec } from './aggregate-merge.js'
import { fanOut } from './fan-out.js'
import { queryShard } from './query-shard.js'
import {
  checkCount,
  checkParams,
  checkSql,
  checkTargets,
  invalidOption,
  scatterDefaults,
} from './scatter-options.js'
import type { ScatterHooks, ScatterTarget } from './target.js'

/** Options of {@link scatterAggregate}. */
export interface ScatterAggregateOptions extends ScatterHooks {
  /**
   * Runs on every shard and returns its partial aggregates: one row (no `groupBy`), or one row per
   * group with the `groupBy` columns. Extra columns are dropped.
   */
  sql: string
  params?: readonly unknown[] | undefined
  /** Output column → how its partials merge: `{ total: 'sum', n: 'count', lo: 'min', hi: 'max' }`. */
  aggregates: Readonly<Record<string, AggregateSpec>>
  /** The group columns of `sql`'s GROUP BY, as output columns. @default none: one row in all */
  groupBy?: readonly string[] | undefined
  /** Shards queried at once. @default Infinity (all) */
  maxConcurrency?: number | undefined
  signal?: AbortSignal | undefined
}

/**
 * Aggregates across shards: every shard computes its partial aggregates and they are merged here —
 * sums and counts added exactly (`int8`/`numeric` strings through BigInt decimals, never a float),
 * `min`/`max` compared, groups matched by their key. Without `groupBy` the result is one row even
 * when no shard returned one; with it, groups come in the order first seen (targets in order).
 *
 * `avg` is refused (`E_INVALID_OPTION`): an average of averages is wrong when shards hold different
 * numbers of rows. Select `sum(x)` and `count(x)` and divide the merged values. Any shard failure
 * fails the call (`E_SHARD_QUERY`): a total missing a shard would look right and be wrong.
 *
 * @example
 * const { rows: [stats] } = await scatterAggregate(postsTargets, {
 *   sql: 'SELECT count(*) AS n, sum(likes) AS likes, max(created_at) AS newest FROM {posts} WHERE author_id = $1',
 *   params: [authorId],
 *   aggregates: { n: 'count', likes: 'sum', newest: 'max' },
 *   signal,
 * })
 * // stats: { n: '1234', likes: '98765', newest: Date }
 */
export async function scatterAggregate<R extends Record<string, unknown> = Record<string, unknown>>(
  targets: readonly ScatterTarget[],
  options: ScatterAggregateOptions,
): Promise<{ rows: R[] }> {
  checkTargets(targets)
  const sql = checkSql(options.sql)
  const params = checkParams(options.params)
  const aggregates = checkAggregates(options.aggregates)
  const groupBy = checkGroupBy(options.groupBy, aggregates)
  const maxConcurrency = checkCount(
    'maxConcurrency',
    options.maxConcurrency,
    scatterDefaults.maxConcurrency,
    true,
  )
  const signal = options.signal ?? new AbortController().signal

  const results = await fanOut(targets, maxConcurrency, signal, (target, _, signal) =>
    queryShard(target, sql, params, signal, options),
  )
  const groups = new Map<string, Group>()
  results.forEach((rows, index) => {
    const target = targets[index]!
    if (groupBy === undefined && rows.length > 1) {
      throw new ShardError(
        'E_INVALID_OPTION',
        `shard ${target.label} returned ${rows.length} rows; without options.groupBy each shard must return one`,
        { option: 'options.groupBy', database: target.database, physicalTable: target.table },
      )
    }
    for (const row of rows) addRow(groups, row, target, aggregates, groupBy ?? [])
  })
  if (groupBy === undefined && groups.size === 0) groups.set('', newGroup({}, aggregates))
  return {
    rows: [...groups.values()].map((group) => {
      const row: Record<string, unknown> = { ...group.key }
      for (const [name, accumulator] of group.accumulators) row[name] = accumulator.result()
      return row as R
    }),
  }
}

interface Group {
  readonly key: Record<string, unknown>
  readonly accumulators: Map<string, AggregateAccumulator>
}

type Aggregates = ReadonlyMap<string, { op: AggregateOp; type: 'auto' | 'text' }>

function addRow(
  groups: Map<string, Group>,
  row: Record<string, unknown>,
  target: ScatterTarget,
  aggregates: Aggregates,
  groupBy: readonly string[],
): void {
  const key: Record<string, unknown> = {}
  groupBy.forEach((column, i) => {
    if (!(column in row)) throw missing(`options.groupBy[${i}]`, column, target)
    key[column] = row[column]
  })
  const id = JSON.stringify(groupBy.map((column) => keyPart(row[column])))
  let group = groups.get(id)
  if (group === undefined) {
    group = newGroup(key, aggregates)
    groups.set(id, group)
  }
  for (const [name, accumulator] of group.accumulators) {
    if (!(name in row)) throw missing(`options.aggregates.${name}`, name, target)
    accumulator.add(row[name], target)
  }
}

function newGroup(key: Record<string, unknown>, aggregates: Aggregates): Group {
  const accumulators = new Map<string, AggregateAccumulator>()
  for (const [name, { op, type }] of aggregates)
    accumulators.set(name, new AggregateAccumulator(name, op, type))
  return { key, accumulators }
}

/** A group value as a tagged, JSON-safe part of the group's identity (`5` and `'5'` stay apart). */
function keyPart(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return ['date', value.getTime()]
  if (value instanceof Uint8Array) return ['bytes', Buffer.from(value).toString('hex')]
  if (typeof value === 'bigint') return ['bigint', value.toString()]
  if (typeof value === 'object') return ['json', JSON.stringify(value)]
  return [typeof value, String(value)]
}

const ops: readonly string[] = ['sum', 'count', 'min', 'max']

function checkAggregates(aggregates: unknown): Aggregates {
  if (typeof aggregates !== 'object' || aggregates === null || Object.keys(aggregates).length === 0) {
    throw invalidOption('options.aggregates', 'options.aggregates must name at least one column')
  }
  const checked = new Map<string, { op: AggregateOp; type: 'auto' | 'text' }>()
  for (const [name, spec] of Object.entries(aggregates as Record<string, AggregateSpec>)) {
    const op: unknown = typeof spec === 'string' ? spec : spec?.op
    const type: unknown = typeof spec === 'string' ? 'auto' : (spec?.type ?? 'auto')
    const option = `options.aggregates.${name}`
    if (op === 'avg') {
      throw invalidOption(
        option,
        `${option}: avg cannot be merged across shards (an average of averages weighs shards wrongly); select sum(x) and count(x) and divide the merged sum by the merged count`,
        op,
      )
    }
    if (typeof op !== 'string' || !ops.includes(op)) {
      throw invalidOption(option, `${option} must be one of ${ops.join(', ')}`, op)
    }
    if (type !== 'auto' && type !== 'text')
      throw invalidOption(`${option}.type`, `${option}.type must be 'auto' or 'text'`, type)
    checked.set(name, { op: op as AggregateOp, type })
  }
  return checked
}

function checkGroupBy(groupBy: unknown, aggregates: Aggregates): readonly string[] | undefined {
  if (groupBy === undefined) return undefined
  if (!Array.isArray(groupBy) || groupBy.some((c) => typeof c !== 'string' || c === '')) {
    throw invalidOption('options.groupBy', 'options.groupBy must be an array of column names')
  }
  const clash = groupBy.find((c: string) => aggregates.has(c))
  if (clash !== undefined) {
    throw invalidOption(
      'options.groupBy',
      `options.groupBy names ${clash}, which is also an aggregate`,
      clash,
    )
  }
  return groupBy
}

function missing(option: string, column: string, target: ScatterTarget): ShardError {
  return new ShardError(
    'E_INVALID_OPTION',
    `shard ${target.label} returned no column ${column} (${option})`,
    {
      option,
      database: target.database,
      physicalTable: target.table,
    },
  )
}
