import { eachLimited } from '../ddl/each-limited.js'
import { type MigrationReport, migrate } from '../ddl/migrate.js'
import type { Migration } from '../ddl/migration.js'
import { type DatabaseRecords, readRecords } from '../ddl/migration-records.js'
import { abortedError } from '../errors.js'
import type { ShardRouter } from '../router/shard-router.js'
import { completePeriods } from './complete-periods.js'
import { rangeMs } from './period.js'

/** Options of {@link ensurePeriods}. */
export interface EnsurePeriodsOptions {
  signal?: AbortSignal
  /** The time whose period counts as current. @default now */
  now?: Date | number
  /** Databases worked on at once. @default 4 */
  concurrency?: number
}

/** What {@link ensurePeriods} did. */
export interface EnsurePeriodsReport extends MigrationReport {
  /** Per range table, the periods made ahead of the current one afterwards. */
  readonly horizons: Readonly<Record<string, number>>
}

/**
 * Makes the physical tables of every range table's current period and `ahead` more, by applying the
 * range tables' migrations to the periods that lack them (the migrations are the schema: a new period
 * gets every one of them, in order). Then the router knows them, and its horizon gauge rises. Run it
 * at start and on a timer (daily for months): a write into a period without tables fails with
 * `E_RANGE_MISSING`, and `shard_range_horizon_alarm` says so ahead of time.
 *
 * @example
 * await ensurePeriods(router, migrations, { signal })
 * setInterval(() => void ensurePeriods(router, migrations).catch(log.error), 86_400_000).unref()
 */
export async function ensurePeriods(
  router: ShardRouter,
  migrations: readonly Migration[],
  options: EnsurePeriodsOptions = {},
): Promise<EnsurePeriodsReport> {
  const map = router.map
  const rangeTables = map.tableNames.filter((t) => map.rule(t).type === 'range')
  const now = options.now ?? Date.now()
  const report = await migrate(router, migrations, {
    tables: rangeTables,
    createDatabases: false,
    now,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  })
  const ms = rangeMs(now)!
  return {
    ...report,
    horizons: Object.fromEntries(rangeTables.map((t) => [t, router.horizon(t, ms)])),
  }
}

/**
 * Teaches a router which range periods exist, from the migration records of every database, without
 * changing anything: for processes that route but do not run DDL.
 *
 * @example
 * await loadPeriods(router, { signal })
 */
export async function loadPeriods(
  router: ShardRouter,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options
  if (signal?.aborted) throw abortedError(signal)
  const map = router.map
  const records: DatabaseRecords[] = new Array(map.databases.length)
  await eachLimited(map.databases, 4, async (d) => {
    records[d.index] = await readRecords(router.cluster(d.index), d.name, signal)
  })
  for (const table of map.tableNames) {
    if (map.rule(table).type === 'range')
      router.periods.add(table, completePeriods(map.compiled(table), records))
  }
}
