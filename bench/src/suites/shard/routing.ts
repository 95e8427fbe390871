import {
  createShardRouter,
  databaseUrl,
  migrate,
  type ShardMap,
  type ShardRouter,
  scatterOrdered,
} from '@hundredfold/shard'
import pg from 'pg'
import { BenchError } from '../../errors.js'
import { closedLoop, histogram, type Round, type RoundsSummary, type Run, summarize } from './closed-loop.js'
import {
  dropDatabases,
  ITEMS_MIGRATIONS,
  itemsMap,
  keysOf,
  type MapShape,
  seedItems,
  serverOf,
} from './layout.js'

/** The point-query SQL, through the router (`{items}` rewritten) and as the direct pool sends it. */
export const POINT_SQL = 'SELECT id, payload FROM {items} WHERE id = $1'
/** The scatter's statement: each physical table is asked for its newest 10. */
export const SCATTER_SQL = 'SELECT id, created_at FROM {items}'
const ORDER_BY = [
  { column: 'created_at', direction: 'desc', type: 'timestamp' },
  { column: 'id', direction: 'desc', type: 'integer' },
] as const

/** How much the routing part does. */
export interface RoutingShape {
  map: MapShape
  rows: number
  /** Closed-loop workers, and the pool size of each side (the router's cluster, the plain `pg.Pool`). */
  connections: number
  /** Sessions per database of the router the scatter runs through (16 × this on the shared server). */
  scatterPool: number
  rounds: number
  roundMs: number
  warmupMs: number
  scatterMs: number
  scatterMaxSamples: number
}

/** What the routing part measured. */
export interface RoutingFigures {
  map: ShardMap
  tablesPerDatabase: number
  rows: number
  connections: number
  /** The physical table every point query reads, `database.table`. */
  table: string
  keys: number
  routed: RoundsSummary
  direct: RoundsSummary
  scatter: { samples: number; targets: number; p50_ms: number; p99_ms: number; max_ms: number }
  setup_s: number
}

/**
 * On the shared server: a map's databases created by the suite, every physical table migrated and
 * seeded; the same point query on one physical table through the router and through a plain `pg.Pool`
 * on that database (same connections, closed loop, alternating rounds); then the scatter. Every
 * database it made is dropped after.
 */
export async function measureRouting(
  postgresUrl: string,
  shape: RoutingShape,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<RoutingFigures> {
  const started = performance.now()
  const map = itemsMap('hfb_shard', postgresUrl, shape.map)
  // Small pools for setup and the scatter: 16 databases share the server's connections with others.
  const router = createShardRouter({ map, pool: { max: shape.scatterPool } })
  let point: ShardRouter | undefined
  let direct: pg.Pool | undefined
  try {
    log(
      `creating ${map.databases.length} databases × ${shape.map.tables} tables (${map.name}_*) on ${serverOf(postgresUrl)}`,
    )
    await migrate(router, ITEMS_MIGRATIONS, { signal })
    await seedItems(router, 1, shape.rows, signal)
    await Promise.all(map.databases.map((d) => router.cluster(d.index).query('ANALYZE', [], { signal })))
    const setupSeconds = (performance.now() - started) / 1000

    const home = map.resolve('items', 1)
    const keys = keysOf(map, home.label, 1, shape.rows)
    point = createShardRouter({ map, pool: { max: shape.connections } })
    direct = new pg.Pool({
      connectionString: databaseUrl(home.server.primary, home.database),
      max: shape.connections,
    })
    direct.on('error', () => {})
    const pointRouter = point
    const directPool = direct
    const directSql = POINT_SQL.replace('{items}', home.physicalTable)
    const routed: Run = (key) => pointRouter.shard('items', key).read(POINT_SQL, [key])
    const plain: Run = (key) => directPool.query(directSql, [key])
    log(
      `point query on ${home.label} (${keys.length} keys): warm-up, then ${shape.rounds} alternating rounds of ${shape.roundMs} ms, ${shape.connections} connections`,
    )
    await closedLoop(routed, keys, shape.connections, shape.warmupMs, signal)
    await closedLoop(plain, keys, shape.connections, shape.warmupMs, signal)
    const rounds = { routed: [] as Round[], direct: [] as Round[] }
    for (let i = 0; i < shape.rounds; i++) {
      // ABBA: neither side always runs first, so a drift of the machine's speed falls on both.
      const order = i % 2 === 0 ? (['routed', 'direct'] as const) : (['direct', 'routed'] as const)
      for (const side of order) {
        const run = side === 'routed' ? routed : plain
        rounds[side].push(await closedLoop(run, keys, shape.connections, shape.roundMs, signal))
      }
    }
    await point.end()
    point = undefined
    await direct.end()
    direct = undefined
    signal.throwIfAborted()

    const scatter = await measureScatter(router, shape, log, signal)
    return {
      map,
      tablesPerDatabase: shape.map.tables,
      rows: shape.rows,
      connections: shape.connections,
      table: home.label,
      keys: keys.length,
      routed: summarize(rounds.routed),
      direct: summarize(rounds.direct),
      scatter,
      setup_s: Math.round(setupSeconds * 10) / 10,
    }
  } finally {
    await point?.end().catch(() => {})
    await direct?.end().catch(() => {})
    await router.end().catch(() => {})
    await dropDatabases(postgresUrl, [map])
  }
}

/** `ORDER BY created_at DESC, id DESC LIMIT 10` over every physical table, one page at a time, back to back. */
async function measureScatter(
  router: ShardRouter,
  shape: RoutingShape,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<RoutingFigures['scatter']> {
  const targets = router.targets('items', { readOnly: true })
  const page = () => scatterOrdered(targets, { sql: SCATTER_SQL, orderBy: ORDER_BY, limit: 10, signal })
  log(
    `scatter: ORDER BY created_at DESC, id DESC LIMIT 10 over ${targets.length} physical tables in ${router.map.databases.length} databases, back to back for ${shape.scatterMs} ms`,
  )
  for (let i = 0; i < 3; i++) await page() // warm-up: every session opened
  const recorded = histogram()
  let samples = 0
  const deadline = performance.now() + shape.scatterMs
  while (performance.now() < deadline && samples < shape.scatterMaxSamples) {
    signal.throwIfAborted()
    const t0 = performance.now()
    const { rows } = await page()
    recorded.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
    samples++
    // Seeded rows get older with their id: the newest ten are 1 … 10, whichever shards hold them.
    const ids = rows.map((r) => Number(r['id']))
    if (ids.join() !== '1,2,3,4,5,6,7,8,9,10') {
      throw new BenchError('E_BENCH_SUITE', `the scatter returned ids ${ids.join()}, not 1 … 10`)
    }
  }
  const ms = (us: number) => Math.round(us / 10) / 100
  return {
    samples,
    targets: targets.length,
    p50_ms: ms(recorded.getValueAtPercentile(50)),
    p99_ms: ms(recorded.getValueAtPercentile(99)),
    max_ms: ms(recorded.maxValue),
  }
}
