import { DEFAULT_EPOCH, Snowflake } from '@hundredfold/id'
import { Snowflake as SapphireSnowflake } from '@sapphire/snowflake'
import { Snowflake as NodejsSnowflake } from 'nodejs-snowflake'
import type { BenchOptions } from '../../options.js'
import { type MetricValue, writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { databaseUrl, dropDatabase, postgresReachable, recreateDatabase } from '../../target/postgres-db.js'
import { runProperty } from './property.js'
import { measureService, P99_RATE } from './service.js'
import { duplicatesIn, idsPerSecond } from './throughput.js'

const NAME = 'id'
const PROPERTY_DATABASE = 'hf_bench_id'

/**
 * `@hundredfold/id` beside `@sapphire/snowflake` and `nodejs-snowflake` in one run: ids per second in
 * process (and how many of them were duplicates), batches; `@hundredfold/id-service` over HTTP keep-alive on
 * one core beside a node:http hello-world on the same core (wrk and our raw senders pinned to the other
 * core); and the cross-process property run (8 processes, 10^7 ids, worker ids leased from PostgreSQL).
 */
export const idSuite: Suite = {
  name: NAME,
  description:
    'Snowflake ids/s in process beside @sapphire/snowflake and nodejs-snowflake; the ID service over HTTP ' +
    'beside a node:http hello-world on the same core; 10^7-id property run',
  run: runId,
}

async function runId(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const metrics: Record<string, MetricValue> = {}
  const notes: string[] = [
    'service_to_node_http_rps and service_to_node_http_p99 are the ID service figure over the bare node:http ' +
      'hello-world figure, both servers on the same core in the same run (req/s under wrk; p99 at ' +
      `${P99_RATE} req/s, open loop, windows taken in turn): what the routes and the id cost beyond node:http.`,
  ]
  const windowMs = options.smoke ? 500 : 3000
  const duplicateSample = options.smoke ? 200_000 : 2_000_000

  // In process, one worker id each. The layout caps a worker at 4096 ids per ms = 4.096 M/s.
  const ours = new Snowflake({ workerId: 1 })
  metrics['ids_per_s_inprocess'] = Math.round(idsPerSecond(() => ours.next(), windowMs))
  metrics['ids_per_s_batch'] = Math.round(idsPerSecond(() => ours.nextBatch(1000), windowMs, 1000))
  metrics['duplicates_inprocess'] = duplicatesIn(() => ours.next(), duplicateSample)
  log(`ours: ${metrics['ids_per_s_inprocess']} ids/s, batches ${metrics['ids_per_s_batch']} ids/s`)

  const sapphire = new SapphireSnowflake(DEFAULT_EPOCH)
  metrics['peer_sapphire_ids_per_s'] = Math.round(idsPerSecond(() => sapphire.generate(), windowMs))
  metrics['peer_sapphire_duplicates'] = duplicatesIn(() => sapphire.generate(), duplicateSample)
  const nodejs = new NodejsSnowflake({ custom_epoch: DEFAULT_EPOCH, instance_id: 1 })
  metrics['peer_nodejs_snowflake_ids_per_s'] = Math.round(idsPerSecond(() => nodejs.getUniqueID(), windowMs))
  metrics['peer_nodejs_snowflake_duplicates'] = duplicatesIn(
    () => nodejs.getUniqueID() as bigint,
    duplicateSample,
  )
  metrics['duplicate_sample_ids'] = duplicateSample
  log(
    `@sapphire/snowflake: ${metrics['peer_sapphire_ids_per_s']} ids/s, ${metrics['peer_sapphire_duplicates']} ` +
      `duplicates in ${duplicateSample}; nodejs-snowflake: ${metrics['peer_nodejs_snowflake_ids_per_s']} ids/s, ` +
      `${metrics['peer_nodejs_snowflake_duplicates']} duplicates`,
  )
  signal.throwIfAborted()

  await measureService(options, signal, metrics, log)
  await measureProperty(options, signal, metrics, notes, log)

  const path = await writeResults(
    NAME,
    { description: idSuite.description, metrics, notes, extra: { window_ms: windowMs } },
    options,
  )
  return { metrics, files: [path] }
}

/** 8 processes, 10^7 ids (smoke: 4·10^5), worker ids leased from PostgreSQL when it answers. */
async function measureProperty(
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
  metrics: Record<string, MetricValue>,
  notes: string[],
  log: (line: string) => void,
): Promise<void> {
  const total = options.smoke ? 400_000 : 10_000_000
  const leased = await postgresReachable(options.postgresUrl)
  if (leased) await recreateDatabase(options.postgresUrl, PROPERTY_DATABASE, signal)
  else notes.push('PostgreSQL not reachable: the property run used fixed worker ids 0..7 instead of leases')
  try {
    const outcome = await runProperty(
      {
        processes: 8,
        total,
        ...(leased ? { leaseDbUrl: databaseUrl(options.postgresUrl, PROPERTY_DATABASE) } : {}),
      },
      signal,
    )
    metrics['property_processes'] = outcome.processes
    metrics['property_ids'] = outcome.ids
    metrics['property_duplicates'] = outcome.duplicates
    metrics['property_worker_ids'] = outcome.distinctWorkerIds
    metrics['property_lease_store'] = leased ? 'postgres' : 'fixed'
    log(`property: ${outcome.ids} ids from ${outcome.processes} processes, ${outcome.duplicates} duplicates`)
  } finally {
    if (leased) await dropDatabase(options.postgresUrl, PROPERTY_DATABASE)
  }
}
