import type { MigrationReport } from './migrate.js'
import type { MigrationStep } from './migration-plan.js'

/**
 * A report as lines for people: databases created, then each step. What the CLI prints.
 *
 * @example
 * console.log(formatMigrationReport(await migrate(map, migrations, { dryRun: true })))
 * // would create database app_00 on server a
 * // app_00 (a): 001_users → users_00 … users_63 (64 tables)
 */
export function formatMigrationReport(report: MigrationReport): string {
  const lines: string[] = []
  const verb = report.dryRun ? 'would create' : 'created'
  for (const { database, server } of report.createdDatabases)
    lines.push(`${verb} database ${database} on server ${server}`)
  for (const step of report.steps) lines.push(formatStep(step))
  if (report.steps.length === 0) lines.push('up to date: every migration is applied everywhere')
  else lines.push(`${report.dryRun ? 'would apply' : 'applied'} ${report.steps.length} steps`)
  return lines.join('\n')
}

/**
 * One step as a line.
 *
 * @example
 * await migrate(router, migrations, { onStep: (step) => console.log(formatStep(step)) })
 * // app_00 (a): 001_users → users_00 … users_63 (64 tables)
 */
export function formatStep(step: MigrationStep): string {
  const tables = step.physicalTables.filter((t) => t !== '')
  let what: string
  if (tables.length === 0) what = 'the database'
  else if (tables.length <= 3) what = tables.join(', ')
  else what = `${tables[0]} … ${tables[tables.length - 1]} (${tables.length} tables)`
  return `${step.database} (${step.server}): ${step.migration} → ${what}`
}
