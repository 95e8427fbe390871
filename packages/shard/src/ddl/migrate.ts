import type { PoolOptions } from '@hundredfold/pg'
import { PgError } from '@hundredfold/pg'
import { abortedError, ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import type { ShardMapDocument } from '../map/shard-map-document.js'
import { completePeriods } from '../range/complete-periods.js'
import { rangeMs } from '../range/period.js'
import type { ConnectShard } from '../router/router-options.js'
import { createShardRouter, ShardRouter } from '../router/shard-router.js'
import { applyStep } from './apply-step.js'
import { type CreatedDatabase, createDatabases } from './create-databases.js'
import { eachLimited } from './each-limited.js'
import { type Migration, shapeMigrations } from './migration.js'
import { type MigrationStep, type PlannedStep, periodsToCover, planDatabase } from './migration-plan.js'
import {
  type DatabaseRecords,
  migrationLockSql,
  migrationTableSql,
  readRecords,
} from './migration-records.js'

/** What `migrate` did, or in a dry run would do. */
export interface MigrationReport {
  readonly dryRun: boolean
  readonly createdDatabases: readonly CreatedDatabase[]
  /** In order per database; databases interleave. Empty when everything was applied already. */
  readonly steps: readonly MigrationStep[]
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Plan only: read what each database has applied, change nothing. @default false */
  dryRun?: boolean
  signal?: AbortSignal
  /** The time that picks range tables' current period (a Date or ms). @default now */
  now?: Date | number
  /** Only migrations naming these tables (keyed ones): `ensurePeriods` passes the range tables. @default all */
  tables?: readonly string[]
  /** Databases migrated at once. @default 4 */
  concurrency?: number
  /** Create the map's missing databases first (`CREATE DATABASE`). @default true */
  createDatabases?: boolean
  /** The database to connect to on each server for `CREATE DATABASE`. @default 'postgres' */
  adminDatabase?: string
  /** Told of each step once it committed (in a dry run: as planned). */
  onStep?: (step: MigrationStep) => void
  /** Given a map rather than a router: how to open clusters. @default pgConnect({ pool }) */
  connect?: ConnectShard
  /** Given a map rather than a router, without `connect`: pool options. @default { max: 2 } */
  pool?: PoolOptions
}

/**
 * Applies migrations to every physical table of the tables they name, in every database, recording
 * each in the database's `hf_shard_migrations`. A migration's missing units in one database go in
 * one transaction (one statement for all its tables), with their records, so the records never lie:
 * a rerun after a failure applies only what is missing. Range tables get their current period,
 * `ahead` more (and from `from`), and every period already recorded.
 *
 * @throws {ShardError} `E_MIGRATION_FAILED` (`database`, `migration`, the server's error as `cause`),
 * `E_INVALID_OPTION`, `E_UNKNOWN_TABLE` (bad migrations, before anything runs), `E_ABORTED`.
 * @example
 * const report = await migrate(router, [{ name: '001_users', sql: 'CREATE TABLE {users} (…)' }], { signal })
 */
export async function migrate(
  target: ShardRouter | ShardMap | ShardMapDocument | string,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const own = !(target instanceof ShardRouter)
  const router = own
    ? createShardRouter({
        map: target,
        ...(options.connect ? { connect: options.connect } : {}),
        pool: options.pool ?? { max: 2 },
      })
    : target
  try {
    return await run(router, migrations, options)
  } finally {
    if (own) await router.end()
  }
}

async function run(router: ShardRouter, migrations: readonly Migration[], options: MigrateOptions) {
  const { signal } = options
  const map = router.map
  const concurrency = options.concurrency ?? 4
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw invalid('options.concurrency', 'must be a positive integer', concurrency)
  }
  const now = rangeMs(options.now ?? Date.now())
  if (now === undefined) throw invalid('options.now', 'must be a Date or ms', options.now)
  for (const table of options.tables ?? []) map.rule(table)
  const shapes = shapeMigrations(map, migrations).filter(
    (s) => options.tables === undefined || s.keyed.some((t) => options.tables!.includes(t)),
  )
  if (signal?.aborted) throw abortedError(signal)
  const createdDatabases =
    options.createDatabases === false
      ? []
      : await createDatabases(map, router.connect, {
          signal,
          dryRun: options.dryRun ?? false,
          ...adminOf(options),
        })
  const absent = new Set(options.dryRun ? createdDatabases.map((d) => d.database) : [])
  const records: DatabaseRecords[] = new Array(map.databases.length)
  await eachLimited(map.databases, concurrency, async (d) => {
    records[d.index] = absent.has(d.name)
      ? { applied: new Set(), physical: new Set() }
      : await readRecords(router.cluster(d.index), d.name, signal)
  })
  const periods = periodsToCover(map, records, now)
  const plans = map.databases.map((d) => planDatabase(shapes, d.index, records[d.index]!, periods, map))
  const steps: MigrationStep[] = []
  const report = (step: PlannedStep) => {
    const { units: _units, ...visible } = step
    steps.push(visible)
    options.onStep?.(visible)
  }
  if (options.dryRun) {
    for (const plan of plans) for (const step of plan) report(step)
    return { dryRun: true, createdDatabases, steps }
  }
  let failed = false
  await eachLimited(map.databases, concurrency, async (d) => {
    const plan = plans[d.index]!
    if (plan.length === 0) return
    const cluster = router.cluster(d.index)
    try {
      await cluster.exec(`${migrationLockSql};\n${migrationTableSql};`, { signal })
    } catch (err) {
      throw failure(err, d.name, undefined, signal)
    }
    for (const step of plan) {
      if (failed) return
      try {
        if (await applyStep(cluster, step, records[d.index]!, signal)) report(step)
      } catch (err) {
        failed = true
        throw failure(err, d.name, step.migration, signal)
      }
    }
  })
  for (const name of map.tableNames) {
    if (map.rule(name).type === 'range')
      router.periods.add(name, completePeriods(map.compiled(name), records))
  }
  return { dryRun: false, createdDatabases, steps }
}

function failure(
  err: unknown,
  database: string,
  migration: string | undefined,
  signal?: AbortSignal,
): ShardError {
  if (signal?.aborted) return abortedError(signal)
  if (err instanceof ShardError) return err
  const sqlState = err instanceof PgError ? err.sqlState : undefined
  const what = migration === undefined ? 'the record table' : `migration ${migration}`
  return new ShardError(
    'E_MIGRATION_FAILED',
    `${what} failed on ${database}: ${(err as Error)?.message ?? String(err)}; what applied before is recorded, a rerun resumes`,
    { database, ...(migration === undefined ? {} : { migration }), ...(sqlState ? { sqlState } : {}) },
    { cause: err },
  )
}

function adminOf(options: MigrateOptions): { adminDatabase?: string } {
  return options.adminDatabase === undefined ? {} : { adminDatabase: options.adminDatabase }
}

function invalid(option: string, problem: string, value: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', `${option} ${problem}`, { option, value })
}
