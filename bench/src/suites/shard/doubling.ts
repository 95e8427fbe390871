import { setTimeout as delay } from 'node:timers/promises'
import {
  createShardRouter,
  migrate,
  parseShardMap,
  planDoubling,
  Resharding,
  type ReshardStatus,
  type ShardMapWatch,
  type ShardRouter,
  type SwitchReport,
  saveShardMap,
  watchShardMap,
} from '@hundredfold/shard'
import { BenchError } from '../../errors.js'
import { ITEMS_MIGRATIONS, itemsMap, type MapShape, seedItems, serverOf } from './layout.js'
import { startLogicalServers } from './logical-servers.js'
import { auditRows, type RowAudit } from './row-audit.js'
import { startWriteLoad, type WriteLoad, type WriteLoadFigures } from './write-load.js'

/** How much the doubling part does. */
export interface DoublingShape {
  from: MapShape
  rows: number
  writers: number
  /** Writes per second offered by the writers together. */
  rate: number
  /** Sessions per database of the writers' router. */
  writerPool: number
  /** Writes before the resharding starts, and after the cutover before the writers stop. */
  beforeStartMs: number
  afterCutoverMs: number
  /** The copy must be caught up within this, or the part fails (and cleans up). */
  copyTimeoutMs: number
}

/** What the doubling part measured. */
export interface DoublingFigures {
  /** The map's name: its databases are `<name>_00` … */
  mapName: string
  from: MapShape
  to: MapShape
  writers: number
  /** Rows in the sources when `start` began: what the copy moved. */
  rowsCopied: number
  seconds: { setup: number; start: number; copy: number; verify: number; cutover: number; complete: number }
  verify: { ok: boolean; chunks: number; rows: number }
  cutover: SwitchReport
  deletedRows: number
  writes: WriteLoadFigures
  audit: RowAudit
}

/**
 * On two servers started for it: a map of `from` databases seeded with `rows`, a watching router with
 * writers inserting through it at `rate`, and the whole doubling — `start`, `waitCaughtUp`, `verify`,
 * `cutover` (the watching router switched through the control database, as another process's would
 * be), more writes on the doubled map, `complete` — then every row audited against the writers' log.
 */
export async function measureDoubling(
  shape: DoublingShape,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<DoublingFigures> {
  const t = performance.now()
  const since = (from: number) => Math.round((performance.now() - from) / 100) / 10
  log('starting two PostgreSQL 15 servers (wal_level = logical): the sources and the new half')
  const servers = await startLogicalServers()
  const routers: ShardRouter[] = []
  let watch: ShardMapWatch | undefined
  let load: WriteLoad | undefined
  try {
    const map = itemsMap('hfb_rs', servers.sources.primary.url, shape.from)
    const setup = createShardRouter({ map, pool: { max: 2 } })
    routers.push(setup)
    log(`migrating ${shape.from.databases} × ${shape.from.tables} tables and seeding ${shape.rows} rows`)
    await migrate(setup, ITEMS_MIGRATIONS, { signal })
    await seedItems(setup, 1, shape.rows, signal)
    await saveShardMap(setup.cluster(0), map) // the map a watching router loads and follows
    await setup.end()

    const writer = createShardRouter({ map, pool: { max: shape.writerPool } })
    routers.push(writer)
    watch = await watchShardMap(writer, { name: 'bench-writers', signal })
    load = startWriteLoad(writer, {
      writers: shape.writers,
      rate: shape.rate,
      firstId: shape.rows + 1,
      timeoutMs: 10_000,
    })
    const setupSeconds = since(t)
    await delay(shape.beforeStartMs, undefined, { signal })

    const plan = planDoubling(map, { servers: { b: { primary: serverOf(servers.targets.primary.url) } } })
    const resharding = await Resharding.create(plan, { signal })
    const rowsCopied = shape.rows + load.acked.length
    const t0 = performance.now()
    log(`start: ${plan.pairs.length} new databases on the second server, schema, publications, subscriptions`)
    await resharding.start({ signal })
    const startSeconds = since(t0)
    await untilCaughtUp(resharding, shape.copyTimeoutMs, log, signal)
    const copySeconds = since(t0)
    log(`caught up after ${copySeconds} s (${Math.round(rowsCopied / copySeconds)} rows/s); verifying`)

    const t1 = performance.now()
    const verify = await resharding.verify({ signal })
    const verifySeconds = since(t1)
    if (!verify.ok) {
      throw new BenchError('E_BENCH_SUITE', `verify found ${verify.mismatches.length} differing tables`, {
        context: { mismatches: verify.mismatches.slice(0, 5) },
      })
    }
    const t2 = performance.now()
    const cutover = await resharding.cutover({ signal })
    const cutoverSeconds = since(t2)
    log(
      `cut over to version ${cutover.version}: writes paused ${Math.round(cutover.pauseMs)} ms, ${cutover.bufferedWrites} buffered`,
    )
    for (let waited = 0; writer.map.version !== cutover.version; waited += 20) {
      if (waited > 5000) {
        throw new BenchError('E_BENCH_SUITE', `the writers' router stayed on version ${writer.map.version}`)
      }
      await delay(20, undefined, { signal })
    }
    await delay(shape.afterCutoverMs, undefined, { signal })
    const writes = await load.stop()
    await watch.stop()

    const t3 = performance.now()
    const { deletedRows } = await resharding.complete({ signal })
    const completeSeconds = since(t3)
    const to = parseShardMap(plan.to)
    const auditor = createShardRouter({ map: to, pool: { max: 2 } })
    routers.push(auditor)
    log(`completed (${deletedRows} redundant rows deleted); auditing every row against the writers' log`)
    const audit = await auditRows(
      auditor,
      to,
      { seeded: { first: 1, count: shape.rows }, acked: load.acked },
      signal,
    )
    return {
      mapName: map.name,
      from: shape.from,
      to: { databases: to.databases.length, tables: shape.from.tables },
      writers: shape.writers,
      rowsCopied,
      seconds: {
        setup: setupSeconds,
        start: startSeconds,
        copy: copySeconds,
        verify: verifySeconds,
        cutover: cutoverSeconds,
        complete: completeSeconds,
      },
      verify: { ok: verify.ok, chunks: verify.chunks, rows: verify.rows },
      cutover,
      deletedRows,
      writes,
      audit,
    }
  } finally {
    await load?.stop().catch(() => {})
    await watch?.stop().catch(() => {})
    await Promise.all(routers.map((r) => r.end().catch(() => {})))
    await servers.destroy()
  }
}

/** `status` every second until caught up, logging the copy's progress every five; bounded by `timeoutMs`. */
async function untilCaughtUp(
  resharding: Resharding,
  timeoutMs: number,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<ReshardStatus> {
  const deadline = performance.now() + timeoutMs
  let logged = performance.now()
  for (;;) {
    const status = await resharding.status({ signal })
    if (status.caughtUp) return status
    const ready = status.pairs.reduce((n, p) => n + p.tablesReady, 0)
    const tables = status.pairs.reduce((n, p) => n + p.tables, 0)
    if (performance.now() > deadline) {
      throw new BenchError(
        'E_BENCH_SUITE',
        `the new databases did not catch up within ${timeoutMs} ms: ${ready} of ${tables} tables copied`,
      )
    }
    if (performance.now() - logged > 5000) {
      log(`copying: ${ready} of ${tables} tables copied`)
      logged = performance.now()
    }
    await delay(1000, undefined, { signal })
  }
}
