import type { ShardMap } from '../map/shard-map.js'
import { periodOf } from '../range/period.js'
import { type MigrationShape, type MigrationUnit, unitsOf } from './migration.js'
import { type DatabaseRecords, recordKey } from './migration-records.js'

/** One migration's missing units in one database: applied (or, in a dry run, to apply) in one transaction. */
export interface MigrationStep {
  readonly database: string
  readonly server: string
  readonly migration: string
  /** The physical tables it creates or changes (`''` for a migration naming no table). */
  readonly physicalTables: readonly string[]
}

/** A step with the units it applies. @internal */
export interface PlannedStep extends MigrationStep {
  readonly units: readonly MigrationUnit[]
}

/** The missing steps of one database, in migration order. @internal */
export function planDatabase(
  shapes: readonly MigrationShape[],
  databaseIndex: number,
  records: DatabaseRecords,
  periods: ReadonlyMap<string, number[]>,
  map: ShardMap,
): PlannedStep[] {
  const database = map.databases[databaseIndex]!
  const steps: PlannedStep[] = []
  for (const shape of shapes) {
    const name = shape.migration.name
    const units = unitsOf(shape, databaseIndex, periods.get(shape.owner?.name ?? '') ?? []).filter(
      (u) => !isApplied(records, name, u),
    )
    if (units.length === 0) continue
    steps.push({
      database: database.name,
      server: database.server.name,
      migration: name,
      physicalTables: units.flatMap((u) => u.records),
      units,
    })
  }
  return steps
}

/** Per range table: from its `from` (or the current period) to `ahead` past the current one, and all recorded. @internal */
export function periodsToCover(
  map: ShardMap,
  records: readonly DatabaseRecords[],
  now: number,
): Map<string, number[]> {
  const periods = new Map<string, number[]>()
  for (const name of map.tableNames) {
    const rule = map.rule(name)
    if (rule.type !== 'range') continue
    const current = periodOf(rule.interval, now)
    const first =
      rule.from === undefined ? current : Math.min(current, periodOf(rule.interval, Date.parse(rule.from)))
    const wanted = new Set<number>()
    for (let p = first; p <= current + rule.ahead; p++) wanted.add(p)
    const compiled = map.compiled(name)
    for (const database of records) {
      for (const physical of database.physical) {
        const period = compiled.periodOfPhysical(physical)
        if (period !== undefined) wanted.add(period)
      }
    }
    periods.set(
      name,
      [...wanted].sort((a, b) => a - b),
    )
  }
  return periods
}

/** Whether every physical table of a unit has the migration's record. @internal */
export function isApplied(records: DatabaseRecords, migration: string, unit: MigrationUnit): boolean {
  return unit.records.every((table) => records.applied.has(recordKey(migration, table)))
}
