import type { ReshardPlan } from '../reshard/reshard-plan.js'
import type { ReshardStatus } from '../reshard/resharding.js'
import type { VerifyReport } from '../reshard/verify.js'
import type { SwitchReport } from '../switch/switch-routers.js'

/** The human form of a plan: one line per pair. */
export function formatPlan(plan: ReshardPlan): string {
  const lines = [
    `plan ${plan.id}: ${plan.pairs.length} → ${plan.pairs.length * 2} databases (map version ${plan.from.version} → ${plan.to.version})`,
    ...table([
      ['source', 'server', '', 'new database', 'server'],
      ...plan.pairs.map((p) => [p.source.name, p.source.server, '→', p.target.name, p.target.server]),
    ]),
  ]
  return lines.join('\n')
}

/** The human form of `status`: the pairs, then the routers watching. */
export function formatStatus(status: ReshardStatus): string {
  const following = status.pairs.some((p) => p.tables > 0)
  const lines = [
    `resharding ${status.id}: ${status.state}${following ? (status.caughtUp ? ', caught up' : ', catching up') : ''} (map version ${status.mapVersion})`,
  ]
  if (following) {
    lines.push(
      ...table([
        ['source', 'new database', 'tables copied', 'lag'],
        ...status.pairs.map((p) => [p.source, p.target, `${p.tablesReady}/${p.tables}`, bytes(p.lagBytes)]),
      ]),
    )
  }
  lines.push(`routers watching: ${status.routers.length}`)
  if (status.routers.length > 0) {
    lines.push(
      ...table([
        ['name', 'id', 'map', 'lease left'],
        ...status.routers.map((r) => [
          r.name,
          r.id,
          `v${r.version}`,
          `${(r.leaseLeftMs / 1000).toFixed(1)} s`,
        ]),
      ]),
    )
  }
  return lines.join('\n')
}

/** The human form of a verify report: the chunks that differ, if any. */
export function formatVerify(report: VerifyReport): string {
  const head = `verified ${report.chunks} physical tables, ${report.rows} rows that move`
  if (report.ok) return `${head}: no differences`
  return [
    `${head}: ${report.mismatches.length} differ`,
    ...table([
      ['source', 'new database', 'table', 'source rows', 'new rows', 'source sum', 'new sum'],
      ...report.mismatches.map((m) => [
        m.source,
        m.target,
        m.table,
        String(m.sourceSum.rows),
        String(m.targetSum.rows),
        m.sourceSum.sum,
        m.targetSum.sum,
      ]),
    ]),
  ].join('\n')
}

/** The human form of a cutover's or reverse's report: the pause, then each router. */
export function formatSwitch(step: string, id: string, report: SwitchReport): string {
  const { held, prepared, applied, published } = report.steps
  const lines = [
    `${step} ${id}: map version ${report.version} in use; writes paused ${ms(report.pauseMs)} at most, ${report.bufferedWrites} buffered (none failed)`,
    `  routers held after ${ms(held)}, fenced after ${ms(prepared)}, replication swapped after ${ms(applied)}, map published after ${ms(published)}`,
  ]
  if (report.routers.length > 0) {
    lines.push(
      ...table([
        ['router', 'id', 'paused', 'buffered', 'map'],
        ...report.routers.map((r) => [
          r.name,
          r.id,
          r.pauseMs === null ? '—' : ms(r.pauseMs),
          String(r.bufferedWrites),
          r.version === null ? 'not confirmed' : `v${r.version}`,
        ]),
      ]),
    )
  } else lines.push('no router took part (none is watching the control database)')
  if (report.excluded.length > 0) {
    lines.push(`left out (lease ran out): ${report.excluded.map((r) => `${r.name} (${r.id})`).join(', ')}`)
  }
  return lines.join('\n')
}

function ms(value: number): string {
  return `${Math.round(value)} ms`
}

function bytes(value: number | null): string {
  if (value === null) return '—'
  if (value < 1024) return `${value} B`
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} kB`
  return `${(value / 1024 / 1024).toFixed(1)} MB`
}

/** Rows as columns padded to their widest cell, indented by two. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd())
}
