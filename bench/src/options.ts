import { BenchError } from './errors.js'
import type { ArrivalProcess } from './loadgen/arrivals.js'
import { DEFAULT_DATASET_DIR, RESULTS_DIR } from './paths.js'
import type { ConsumerLayout } from './target/consumer-process.js'
import { DEFAULT_POSTGRES_URL } from './target/postgres-db.js'

/** Every option a suite accepts; the CLI maps `--kebab-case` flags onto these. */
export interface BenchOptions {
  /**
   * `auto` | `full` | `embedded` | `postgres` | `synthetic` | a base URL.
   * @default 'auto' (the full system when PostgreSQL, Redis and JetStream answer; else what answers)
   */
  target: string
  /** PostgreSQL server for the `postgres` and `full` targets. @default 'postgres://postgres@127.0.0.1:5432/postgres' */
  postgresUrl: string
  /** Redis of the `full` target (cache L2, home timelines). @default 'redis://127.0.0.1:6379' */
  redisUrl: string
  /** JetStream broker of the `full` target (the write queue). @default 'nats://127.0.0.1:4222' */
  natsUrl: string
  /** Database recreated for the run on the `postgres` target. @default 'hf_bench' */
  database: string
  /** Pin the spawned server to these CPUs (`taskset -c`), e.g. `1`. @default undefined (no pinning) */
  serverCpus: string | undefined
  /**
   * Where a spawned microblog with the queue on runs its consumers: `process` (one process of their own
   * at `nice 10`, the app then only accepts) or `inline` (in the app process, as `npm start` does).
   * @default 'process'
   */
  consumers: ConsumerLayout
  /** socfb-Reed98 folder. @default '../shared/datasets/socfb-Reed98' */
  dataset: string
  /** Generate a graph instead of reading the folder (also done when the folder is absent). @default false */
  generate: boolean
  /** Users of a generated graph (smaller only for smoke runs). @default 962 (socfb-Reed98) */
  graphUsers: number
  /** Undirected edges of a generated graph. @default 18812 (socfb-Reed98) */
  graphEdges: number
  /** Each user composes a uniform 0…this many posts while loading (mean half of it). @default 20 */
  maxPostsPerUser: number
  /** Load the dataset; undefined = load when the kit started the server empty. @default undefined */
  load: boolean | undefined
  /** Short windows and a coarse search, for CI. @default false */
  smoke: boolean
  /** Warm-up before each step's window. @default 2000 (smoke 500) */
  warmupMs: number
  /** Each step's measurement window. @default 8000 (smoke 1500) */
  durationMs: number
  /** Wait after a window for requests in flight. @default 2000 (smoke 1000) */
  drainMs: number
  /** @default 'poisson' */
  arrival: ArrivalProcess
  /** Sender connections (open loop: enough that they rarely all wait). @default 256 */
  connections: number
  /** Request timeout. @default 10000 */
  timeoutMs: number
  /** Cap on requests in flight; beyond it requests count as `overflow`. @default 20000 */
  maxInFlight: number
  /** Offer this one rate instead of searching. @default undefined */
  rate: number | undefined
  /** First rate of the search; undefined = half a quick closed-loop estimate. @default undefined */
  startRate: number | undefined
  /** @default 10 */
  minRate: number
  /** @default 100000 */
  maxRate: number
  /** Bisection stops when the bracket is within this share of its top. @default 0.05 (smoke 0.3) */
  precision: number
  /** Steps per search. @default 10 (smoke 4) */
  maxSteps: number
  /** p99 SLOs of the MST search, in ms. @default [50, 10] */
  slosMs: number[]
  /** `measure` the ceiling in the run, `skip` it, or take a known ceiling in req/s. @default 'measure' */
  ceiling: 'measure' | 'skip' | number
  /** Closed-loop connections (ours and wrk's) for the ceiling comparison. @default 50 */
  closedConnections: number
  /** Run `wrk` beside our closed loop in the ceiling suite. @default true */
  wrk: boolean
  /** Requests in flight while loading the dataset. @default 32 */
  loadConcurrency: number
  /** @default 1 */
  seed: number
  /** Stages the `stages` suite runs (`single,pool,…`), always in ladder order. @default undefined (every stage) */
  stages: string[] | undefined
  /** @default 'bench/results' */
  outDir: string
  /** Write the HTML report and PNG chart. @default true */
  report: boolean
  /** Progress lines. @default writes to stderr */
  log: (line: string) => void
}

const FULL = { warmupMs: 2000, durationMs: 8000, drainMs: 2000, precision: 0.05, maxSteps: 10 }
const SMOKE = { warmupMs: 500, durationMs: 1500, drainMs: 1000, precision: 0.3, maxSteps: 4 }

/** Defaults of every option (full-run profile). */
export const DEFAULT_OPTIONS: Readonly<BenchOptions> = Object.freeze({
  target: 'auto',
  postgresUrl: DEFAULT_POSTGRES_URL,
  redisUrl: 'redis://127.0.0.1:6379',
  natsUrl: 'nats://127.0.0.1:4222',
  database: 'hf_bench',
  serverCpus: undefined,
  consumers: 'process',
  dataset: DEFAULT_DATASET_DIR,
  generate: false,
  graphUsers: 962,
  graphEdges: 18_812,
  maxPostsPerUser: 20,
  load: undefined,
  smoke: false,
  ...FULL,
  arrival: 'poisson',
  connections: 256,
  timeoutMs: 10_000,
  maxInFlight: 20_000,
  rate: undefined,
  startRate: undefined,
  minRate: 10,
  maxRate: 100_000,
  slosMs: [50, 10],
  ceiling: 'measure',
  closedConnections: 50,
  wrk: true,
  loadConcurrency: 32,
  seed: 1,
  stages: undefined,
  outDir: RESULTS_DIR,
  report: true,
  log: (line: string) => {
    process.stderr.write(`${line}\n`)
  },
})

/**
 * Fills defaults (the smoke profile when `smoke` is set), validates eagerly and freezes.
 *
 * @example
 * const options = resolveOptions({ smoke: true, target: 'http://127.0.0.1:8080' })
 */
export function resolveOptions(input: Partial<BenchOptions> = {}): Readonly<BenchOptions> {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))
  const profile = input.smoke ? SMOKE : FULL
  const options: BenchOptions = {
    ...DEFAULT_OPTIONS,
    ...profile,
    ...defined,
    slosMs: [...(input.slosMs ?? [50, 10])],
    ...(input.stages === undefined ? {} : { stages: [...input.stages] }),
  }
  const positive = ['warmupMs', 'durationMs', 'connections', 'timeoutMs', 'maxInFlight', 'minRate', 'maxRate']
  for (const key of [...positive, 'maxSteps', 'closedConnections', 'loadConcurrency'] as const) {
    const value = options[key as keyof BenchOptions] as number
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new BenchError('E_BENCH_OPTION', `options.${key} must be a non-negative number`, {
        context: { value },
      })
    }
  }
  for (const key of [
    'durationMs',
    'connections',
    'maxSteps',
    'closedConnections',
    'loadConcurrency',
  ] as const) {
    if (!(options[key] >= 1)) throw new BenchError('E_BENCH_OPTION', `options.${key} must be at least 1`)
  }
  if (!(Number.isInteger(options.graphUsers) && options.graphUsers >= 2)) {
    throw new BenchError('E_BENCH_OPTION', 'options.graphUsers must be an integer of at least 2')
  }
  if (!(options.precision > 0 && options.precision < 1)) {
    throw new BenchError('E_BENCH_OPTION', 'options.precision must be between 0 and 1')
  }
  if (options.minRate > options.maxRate) {
    throw new BenchError('E_BENCH_OPTION', 'options.minRate must not exceed options.maxRate')
  }
  for (const key of ['rate', 'startRate'] as const) {
    const value = options[key]
    if (value !== undefined && !(value > 0)) {
      throw new BenchError('E_BENCH_OPTION', `options.${key} must be a positive number`, {
        context: { value },
      })
    }
  }
  if (options.consumers !== 'process' && options.consumers !== 'inline') {
    throw new BenchError('E_BENCH_OPTION', 'options.consumers must be process or inline')
  }
  if (options.arrival !== 'constant' && options.arrival !== 'poisson') {
    throw new BenchError('E_BENCH_OPTION', 'options.arrival must be constant or poisson')
  }
  if (options.slosMs.length === 0 || options.slosMs.some((slo) => !(slo > 0))) {
    throw new BenchError('E_BENCH_OPTION', 'options.slosMs must be positive numbers')
  }
  if (!/^rediss?:\/\/./.test(options.redisUrl)) {
    throw new BenchError('E_BENCH_OPTION', 'options.redisUrl must be a redis:// URL')
  }
  if (!/^nats:\/\/[^/]+$/.test(options.natsUrl)) {
    throw new BenchError('E_BENCH_OPTION', 'options.natsUrl must be a nats://host:port URL')
  }
  if (options.stages !== undefined && options.stages.length === 0) {
    throw new BenchError('E_BENCH_OPTION', 'options.stages must name at least one stage')
  }
  const ceiling = options.ceiling
  if (ceiling !== 'measure' && ceiling !== 'skip' && !(typeof ceiling === 'number' && ceiling > 0)) {
    throw new BenchError('E_BENCH_OPTION', 'options.ceiling must be measure, skip or a positive rate')
  }
  return Object.freeze(options)
}

/** The options as recorded in a results file (no functions, durations in seconds). */
export function recordableOptions(options: Readonly<BenchOptions>): Record<string, unknown> {
  const { log: _log, postgresUrl, redisUrl, ...rest } = options
  return { ...rest, postgresUrl: maskPassword(postgresUrl), redisUrl: maskPassword(redisUrl) }
}

function maskPassword(text: string): string {
  const url = new URL(text)
  if (url.password) url.password = '***'
  return url.toString()
}
