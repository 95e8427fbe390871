import type { Cluster } from '@hundredfold/pg'
import { isApplied, type PlannedStep } from './migration-plan.js'
import { type DatabaseRecords, migrationLockSql, noteRecord } from './migration-records.js'

/**
 * One step as one simple-protocol script — lock, every unit's SQL, the records — which PostgreSQL
 * runs as one implicit transaction: all of it or nothing, in one round trip, and a failure leaves the
 * session clean. A run that lost a race (another one applied the step first, so its DDL found the
 * tables made) sees the other's records and counts the step as done. @internal
 */
export async function applyStep(
  cluster: Cluster,
  step: PlannedStep,
  records: DatabaseRecords,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const physical = step.units.flatMap((u) => u.records)
  const values = physical.map((t) => `(${literal(step.migration)}, ${literal(t)})`).join(',\n')
  // The bare `;` lines end each unit even when its SQL ends in a `--` comment.
  const script = [
    `${migrationLockSql};`,
    ...step.units.map((u) => `${u.sql}\n;`),
    `INSERT INTO hf_shard_migrations (name, physical_table) VALUES\n${values};`,
  ].join('\n')
  try {
    await cluster.exec(script, { signal })
  } catch (err) {
    if (signal?.aborted || !(await appliedMeanwhile(cluster, step, records, signal))) throw err
    return false
  }
  for (const table of physical) noteRecord(records, step.migration, table)
  return true
}

/** Whether another run recorded every unit of the step (so this run's failure was losing the race). */
async function appliedMeanwhile(
  cluster: Cluster,
  step: PlannedStep,
  records: DatabaseRecords,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    const { rows } = await cluster.query<{ physical_table: string }>(
      'SELECT physical_table FROM hf_shard_migrations WHERE name = $1',
      [step.migration],
      { signal },
    )
    for (const row of rows) noteRecord(records, step.migration, row.physical_table)
  } catch {
    return false // the server is gone too: the original error says more
  }
  return step.units.every((u) => isApplied(records, step.migration, u))
}

/** A string literal; migration names and physical names hold no quote-breaking characters (checked). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
