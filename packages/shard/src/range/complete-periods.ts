import type { DatabaseRecords } from '../ddl/migration-records.js'
import type { CompiledTable } from '../map/compiled-table.js'

/**
 * The periods of a range table seen in the migration records whose physical tables exist in every
 * database at every table index: those a router may route to. A period half-made (a run that failed
 * midway) is left out until a rerun completes it. @internal
 */
export function completePeriods(table: CompiledTable, records: readonly DatabaseRecords[]): number[] {
  const seen = new Set<number>()
  for (const database of records) {
    for (const physical of database.physical) {
      const period = table.periodOfPhysical(physical)
      if (period !== undefined) seen.add(period)
    }
  }
  const complete: number[] = []
  for (const period of seen) {
    let all = true
    for (let d = 0; d < table.databaseCount && all; d++) {
      const physical = records[d]?.physical
      for (let t = 0; t < table.tables && all; t++)
        all = physical?.has(table.physicalName(t, period)) ?? false
    }
    if (all) complete.push(period)
  }
  return complete.sort((a, b) => a - b)
}
