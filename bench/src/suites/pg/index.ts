import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { startReplicaSet } from '@hundredfold/pg/testing'
import { build } from 'hdr-histogram-js'
import pg from 'pg'
import type { BenchOptions } from '../../options.js'
import { type MetricValue, writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'

const NAME = 'pg'
const SQL = 'SELECT k, v FROM kv WHERE k = $1'
const KEYS = 1000

type Run = (key: number) => Promise<unknown>

interface Round {
  queries: number
  seconds: number
  histogram: ReturnType<typeof build>
}

/**
 * The cost of routing: the same primary-key read through `@hundredfold/pg` (a primary and a
 * replica, reads routed to the replica by lag and load) and through a plain `pg.Pool` connected
 * straight to that replica, with the same number of connections, closed loop, in alternating rounds.
 */
export const pgSuite: Suite = {
  name: NAME,
  description: '@hundredfold/pg routed reads vs a plain pg.Pool on the same replica, same connections',
  run: runPg,
}

async function runPg(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const connections = 8
  const rounds = options.smoke ? 2 : 5
  const roundMs = options.smoke ? 1000 : Math.max(2000, Math.round(options.durationMs / 2))
  log('starting a primary and one streaming replica')
  const set = await startReplicaSet({ replicas: 1 })
  const replica = set.replicas[0]!
  const cluster = createCluster({
    primary: pgDriver({ connectionString: set.primary.url, label: 'primary' }),
    replicas: [pgDriver({ connectionString: replica.url, label: 'replica' })],
    pool: { max: connections },
  })
  const raw = new pg.Pool({ connectionString: replica.url, max: connections })
  raw.on('error', () => {})
  try {
    await set.sql(set.primary, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)')
    await set.sql(set.primary, `INSERT INTO kv SELECT g, md5(g::text) FROM generate_series(1, ${KEYS}) g`)
    // Both sides read the replica: wait until it has replayed the table and its rows.
    const [head] = await set.sql<{ lsn: string }>(set.primary, 'SELECT pg_current_wal_lsn()::text AS lsn')
    const lsn = head!.lsn
    for (let i = 0; i < 600; i++) {
      const [row] = await set.sql<{ done: boolean }>(
        replica,
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
        [lsn],
      )
      if (row?.done) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await cluster.ready()
    const routed: Run = (k) => cluster.read(SQL, [k])
    const plain: Run = (k) => raw.query(SQL, [k])
    log(`warm-up, then ${rounds} alternating rounds of ${roundMs} ms each, ${connections} connections`)
    await measure(routed, connections, 500, signal)
    await measure(plain, connections, 500, signal)
    const results = { routed: [] as Round[], raw: [] as Round[] }
    for (let i = 0; i < rounds; i++) {
      results.routed.push(await measure(routed, connections, roundMs, signal))
      results.raw.push(await measure(plain, connections, roundMs, signal))
    }
    const onReplica = cluster.stats().hosts.find((h) => h.host === 'replica')!.reads
    const summary = (list: Round[]) => {
      const histogram = build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: 3,
      })
      for (const round of list) histogram.add(round.histogram)
      const queries = list.reduce((n, r) => n + r.queries, 0)
      const seconds = list.reduce((n, r) => n + r.seconds, 0)
      return {
        qps: queries / seconds,
        p50: histogram.getValueAtPercentile(50),
        p99: histogram.getValueAtPercentile(99),
      }
    }
    const r = summary(results.routed)
    const p = summary(results.raw)
    const metrics: Record<string, MetricValue> = {
      routed_qps: Math.round(r.qps),
      raw_qps: Math.round(p.qps),
      overhead_ratio: round3(1 - r.qps / p.qps),
      routed_p50_us: r.p50,
      raw_p50_us: p.p50,
      added_p50_us: r.p50 - p.p50,
      routed_p99_us: r.p99,
      raw_p99_us: p.p99,
      connections,
      routed_reads_on_replica: onReplica,
    }
    log(
      `routed ${metrics['routed_qps']} q/s p50 ${r.p50} µs | raw pg.Pool ${metrics['raw_qps']} q/s p50 ${p.p50} µs | overhead ${metrics['overhead_ratio']}`,
    )
    const file = await writeResults(
      NAME,
      {
        description: pgSuite.description,
        metrics,
        notes: [
          'overhead_ratio = 1 - routed_qps / raw_qps (negative: routed was faster within noise)',
          `query: ${SQL}; ${KEYS} rows; closed loop; rounds alternate routed/raw to share the machine's noise`,
        ],
      },
      options,
    )
    return { metrics, files: [file] }
  } finally {
    await raw.end().catch(() => {})
    await cluster.end()
    await set.destroy()
  }
}

/** Closed loop: `connections` workers each run queries back to back for `ms`. Latency in µs. */
async function measure(run: Run, connections: number, ms: number, signal: AbortSignal): Promise<Round> {
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  })
  let queries = 0
  const started = performance.now()
  const deadline = started + ms
  const worker = async (seed: number) => {
    let key = seed
    while (performance.now() < deadline && !signal.aborted) {
      key = (key * 7919 + 17) % KEYS
      const t0 = performance.now()
      await run(key + 1)
      histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
      queries++
    }
  }
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i + 1)))
  return { queries, seconds: (performance.now() - started) / 1000, histogram }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}
