import { setMaxListeners } from 'node:events'
import type { BenchOptions } from '../../options.js'
import { type MetricValue, writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { type DoublingFigures, type DoublingShape, measureDoubling } from './doubling.js'
import { measureRouting, POINT_SQL, type RoutingFigures, type RoutingShape, SCATTER_SQL } from './routing.js'
import { WRITE_SQL } from './write-load.js'

const NAME = 'shard'

/** How much each part does; `smoke` is a much smaller run of the same paths. */
const SHAPES: Record<'full' | 'smoke', { routing: RoutingShape; doubling: DoublingShape; boundMs: number }> =
  {
    full: {
      routing: {
        map: { databases: 16, tables: 64 },
        rows: 200_000,
        connections: 8,
        scatterPool: 2,
        rounds: 5,
        roundMs: 3000,
        warmupMs: 1000,
        scatterMs: 12_000,
        scatterMaxSamples: 500,
      },
      doubling: {
        from: { databases: 16, tables: 64 },
        rows: 320_000,
        writers: 8,
        rate: 1200,
        writerPool: 4,
        beforeStartMs: 2000,
        afterCutoverMs: 3000,
        copyTimeoutMs: 150_000,
      },
      boundMs: 330_000,
    },
    smoke: {
      routing: {
        map: { databases: 4, tables: 8 },
        rows: 4000,
        connections: 4,
        scatterPool: 2,
        rounds: 2,
        roundMs: 300,
        warmupMs: 200,
        scatterMs: 500,
        scatterMaxSamples: 50,
      },
      doubling: {
        from: { databases: 4, tables: 4 },
        rows: 4000,
        writers: 4,
        rate: 200,
        writerPool: 2,
        beforeStartMs: 300,
        afterCutoverMs: 500,
        copyTimeoutMs: 60_000,
      },
      boundMs: 120_000,
    },
  }

/**
 * `@hundredfold/shard` on real PostgreSQL: the cost of routing (the same point query on the same
 * physical table through the router and through a plain `pg.Pool`, same connections, alternating
 * closed-loop rounds), a scatter-gather `ORDER BY … LIMIT 10` over every physical table, and an
 * online doubling (16 → 32 databases) under a steady write load: copy throughput, the write pause of
 * the cutover, and every row audited against the writers' acknowledged log.
 */
export const shardSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/shard point query routed vs a plain pg.Pool on the same table; scatter ORDER BY LIMIT 10; online doubling 16 → 32 under writes',
  run: runShard,
}

async function runShard(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const started = performance.now()
  const shape = options.smoke ? SHAPES.smoke : SHAPES.full
  // A bound on the whole run: whatever hangs, every server and database it made is still removed.
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(shape.boundMs)])
  setMaxListeners(0, bounded) // every shard's statement in flight listens to it: 1024 in a scatter
  const routing = await measureRouting(options.postgresUrl, shape.routing, log, bounded)
  log(
    `routed ${Math.round(routing.routed.qps)} q/s p50 ${routing.routed.p50_us} µs | direct pg.Pool ${Math.round(routing.direct.qps)} q/s p50 ${routing.direct.p50_us} µs | scatter p99 ${routing.scatter.p99_ms} ms`,
  )
  const doubling = await measureDoubling(shape.doubling, log, bounded)
  const metrics: Record<string, MetricValue> = {
    ...routingMetrics(routing),
    ...doublingMetrics(doubling),
    run_s: Math.round((performance.now() - started) / 100) / 10,
  }
  log(
    `doubling: ${metrics['reshard_rows_per_s']} rows/s copied, pause ${metrics['reshard_write_pause_ms']} ms, ${metrics['reshard_writes_per_s']} writes/s, lost ${metrics['reshard_lost_rows']}, duplicated ${metrics['reshard_duplicated_rows']}`,
  )
  const file = await writeResults(
    NAME,
    {
      description: shardSuite.description,
      metrics,
      notes: notes(routing, doubling, shape),
      extra: {
        shape,
        routing_map: routing.map.name,
        doubling_map: doubling.mapName,
        point_table: routing.table,
        cutover: doubling.cutover,
        write_failures: doubling.writes.first_failures,
      },
    },
    options,
  )
  return { metrics, files: [file] }
}

function routingMetrics(r: RoutingFigures): Record<string, MetricValue> {
  return {
    routed_qps: Math.round(r.routed.qps),
    direct_qps: Math.round(r.direct.qps),
    overhead_ratio: round3(1 - r.routed.qps / r.direct.qps),
    routed_p50_us: r.routed.p50_us,
    routed_p99_us: r.routed.p99_us,
    direct_p50_us: r.direct.p50_us,
    direct_p99_us: r.direct.p99_us,
    added_p50_us: r.routed.p50_us - r.direct.p50_us,
    routed_client_cpu_us: r.routed.cpu_us_per_call,
    direct_client_cpu_us: r.direct.cpu_us_per_call,
    added_client_cpu_us: Math.round((r.routed.cpu_us_per_call - r.direct.cpu_us_per_call) * 10) / 10,
    scatter_p50_ms: r.scatter.p50_ms,
    scatter_p99_ms: r.scatter.p99_ms,
    scatter_max_ms: r.scatter.max_ms,
    scatter_samples: r.scatter.samples,
    scatter_targets: r.scatter.targets,
    map_databases: r.map.databases.length,
    map_tables_per_database: r.tablesPerDatabase,
    rows: r.rows,
    point_keys: r.keys,
    connections: r.connections,
    routing_setup_s: r.setup_s,
  }
}

function doublingMetrics(d: DoublingFigures): Record<string, MetricValue> {
  const steps = d.cutover.steps
  return {
    reshard_lost_rows: d.audit.lost,
    reshard_duplicated_rows: d.audit.duplicated,
    reshard_misplaced_rows: d.audit.misplaced,
    reshard_unacknowledged_rows: d.audit.unacknowledged,
    reshard_write_pause_ms: Math.round(d.cutover.pauseMs),
    reshard_buffered_writes: d.cutover.bufferedWrites,
    reshard_switch_held_ms: Math.round(steps.held),
    reshard_switch_fenced_ms: Math.round(steps.prepared),
    reshard_switch_applied_ms: Math.round(steps.applied),
    reshard_switch_published_ms: Math.round(steps.published),
    reshard_rows_per_s: Math.round(d.rowsCopied / d.seconds.copy),
    reshard_rows_copied: d.rowsCopied,
    reshard_rows_final: d.audit.rows,
    reshard_from_databases: d.from.databases,
    reshard_to_databases: d.to.databases,
    reshard_tables_per_database: d.from.tables,
    reshard_start_s: d.seconds.start,
    reshard_copy_s: d.seconds.copy,
    reshard_verify_s: d.seconds.verify,
    reshard_verify_rows: d.verify.rows,
    reshard_cutover_s: d.seconds.cutover,
    reshard_complete_s: d.seconds.complete,
    reshard_deleted_rows: d.deletedRows,
    reshard_setup_s: d.seconds.setup,
    reshard_writers: d.writers,
    reshard_writes_offered_per_s: d.writes.offered_rate,
    reshard_writes_per_s: d.writes.writes_per_s,
    reshard_writes: d.writes.writes,
    reshard_write_failures: d.writes.failures,
    reshard_write_p50_ms: d.writes.p50_ms,
    reshard_write_p99_ms: d.writes.p99_ms,
    reshard_write_max_ms: d.writes.max_ms,
  }
}

function notes(r: RoutingFigures, d: DoublingFigures, shape: (typeof SHAPES)['full']): string[] {
  const from = `${d.from.databases} × ${d.from.tables}`
  return [
    'overhead_ratio = 1 - routed_qps / direct_qps (floor ≤ 0.05; negative: routed was faster within noise)',
    '*_client_cpu_us = CPU (user + system) of the bench process per query over the rounds (process.cpuUsage): the client side, router and driver; added_client_cpu_us is what the router adds',
    `point query: ${POINT_SQL} on one physical table (${r.table}, ${r.keys} keys) of a ${r.map.databases.length} × ${r.tablesPerDatabase} hash map (${r.rows} rows) on the shared server (--postgres-url), databases ${r.map.name}_* made by the suite and dropped after; routed = router.shard('items', key).read(…) (the database's @hundredfold/pg cluster, no replicas: the primary); direct = a plain pg.Pool on that database with the physical table named in the SQL; ${r.connections} connections each, closed loop, ${shape.routing.rounds} rounds of ${shape.routing.roundMs} ms per side in ABBA order`,
    `scatter: scatterOrdered(router.targets('items', { readOnly: true }), { sql: '${SCATTER_SQL}', orderBy: created_at DESC, id DESC, limit: 10 }) over ${r.scatter.targets} physical tables in ${r.map.databases.length} databases (each asked for its 10 newest, index on (created_at, id)), ${shape.routing.scatterPool} sessions per database, one page at a time back to back for ${shape.routing.scatterMs} ms: ${r.scatter.samples} pages (under 100, scatter_p99_ms is the slowest page); every page checked to be ids 1 … 10`,
    `doubling: ${from} → ${d.to.databases} × ${d.to.tables} on two PostgreSQL 15 servers started by the suite (startReplicaSet, wal_level = logical, fsync off): the sources on one, the new half on the other; ${d.rowsCopied} rows when start began`,
    `reshard_rows_per_s = rows in the sources when start began ÷ seconds from start() until every table was copied and the lag under 1 MB (start's schema copies and slot making included; the whole database is copied, the half that stays is deleted at complete)`,
    `writes: ${d.writers} writers through one router that watches the control database (watchShardMap, as another process's would), each with one write in flight on a fixed schedule, ${d.writes.offered_rate} writes/s offered in all: ${WRITE_SQL} (autocommit), 10 s timeout each; from ${shape.doubling.beforeStartMs} ms before start until ${shape.doubling.afterCutoverMs} ms after the cutover; stopped before complete`,
    'reshard_write_pause_ms = the SwitchReport pauseMs of the cutover: the longest any router held its writes, by its own clock (floor ≤ 1000)',
    'reshard_lost_rows / reshard_duplicated_rows: after complete, every row of every physical table of the doubled map read back; lost = seeded or acknowledged ids in no table, duplicated = copies beyond the first (floor 0 each); misplaced = rows not where the doubled map puts them',
  ]
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}
