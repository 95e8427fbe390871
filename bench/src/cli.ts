#!/usr/bin/env node
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BenchError } from './errors.js'
import { type BenchOptions, DEFAULT_OPTIONS, resolveOptions } from './options.js'
import { findSuite, SUITES } from './registry.js'
import { writeReport } from './report/write-report.js'
import { readResults } from './results.js'

const USAGE = `usage: npm run bench -- <suite> [options]
       npm run bench -- list
       npm run bench -- report <suite | path/to/results.json>

targets:
  --target <t>            auto (full when PostgreSQL, Redis and JetStream answer, else what answers) |
                          full (app on PostgreSQL + Redis + JetStream, queue on) | postgres | embedded |
                          stack (nginx in front of npm run stack's apps; started for the run
                          unless one is up in HF_STACK_DIR) |
                          synthetic (the kit's stand-in server) | http://host:port   [auto]
  --postgres-url <url>    PostgreSQL server for postgres and full      [${DEFAULT_OPTIONS.postgresUrl}]
  --redis-url <url>       Redis for full                               [${DEFAULT_OPTIONS.redisUrl}]
  --nats-url <url>        JetStream broker for full                    [${DEFAULT_OPTIONS.natsUrl}]
  --database <name>       database recreated for the run               [hf_bench]
  --server-cpus <list>    pin the spawned server with taskset -c, e.g. 1
  --consumers <layout>    queue consumers in a process of their own at nice 10, or inline  [process]
dataset:
  --dataset <dir>         socfb-Reed98 folder                          [../shared/datasets/socfb-Reed98]
  --generate              generate a graph of the same size instead (also when the folder is absent)
  --users <n> --edges <n> size of a generated graph (implies --generate; for smoke runs)  [962, 18812]
  --posts-per-user <n>    each user composes a uniform 0..n posts     [20]
  --load / --no-load      load the dataset (default: when the kit started the server)
load shape:
  --smoke                 short windows, coarse search (CI)
  --warmup <s>            warm-up per step                            [2, smoke 0.5]
  --duration <s>          measurement window per step                 [8, smoke 1.5]
  --drain <s>             wait for in-flight requests after a window  [2, smoke 1]
  --arrival <a>           poisson | constant                          [poisson]
  --connections <n>       sender keep-alive connections               [256]
  --timeout <s>           request timeout                             [10]
search:
  --rate <rps>            offer one rate instead of searching
  --start-rate <rps>      first rate (default: half a closed-loop estimate)
  --min-rate <rps> --max-rate <rps>                                   [10, 100000]
  --precision <share>     stop bisecting within this share            [0.05, smoke 0.3]
  --max-steps <n>         steps per search                            [10, smoke 4]
  --slo <ms,ms>           p99 SLOs                                    [50,10]
  --ceiling <c>           measure | skip | <rps>                      [measure]
  --closed-connections <n> closed-loop connections (ours and wrk's)   [50]
  --no-wrk                skip the wrk comparison (ceiling suite)
other:
  --load-concurrency <n>  requests in flight while loading            [32]
  --seed <n>              [1]
  --stages <a,b>          stages of the stages suite: single,pool,cache,replicas,queue  [all]
  --out <dir>             results folder                              [bench/results]
  --no-report             skip the HTML report and PNG
  --quiet                 no progress lines`

/** Parses `10`, `1.5`, `500ms`, `2s` as seconds → ms. */
function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim())
  if (!match?.[1]) throw new BenchError('E_BENCH_OPTION', `--${flag} must be seconds, e.g. 5 or 500ms`)
  return match[2] === 'ms' ? Number(match[1]) : Number(match[1]) * 1000
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isFinite(parsed)) throw new BenchError('E_BENCH_OPTION', `--${flag} must be a number`)
  return parsed
}

/** The flags `parseOptions` accepts: each takes a value, or is a switch. */
const FLAGS = flagTable(
  [
    'target',
    'postgres-url',
    'redis-url',
    'nats-url',
    'database',
    'server-cpus',
    'consumers',
    'dataset',
    'users',
    'edges',
    'posts-per-user',
    'warmup',
    'duration',
    'drain',
    'arrival',
    'connections',
    'timeout',
    'rate',
    'start-rate',
    'min-rate',
    'max-rate',
    'precision',
    'max-steps',
    'slo',
    'ceiling',
    'closed-connections',
    'load-concurrency',
    'seed',
    'stages',
    'out',
  ],
  ['generate', 'load', 'no-load', 'smoke', 'no-wrk', 'no-report', 'quiet'],
)

/** A `parseArgs` options table from flag names, typed so each value keeps its own type. */
function flagTable<const V extends string, const S extends string>(
  valued: readonly V[],
  switches: readonly S[],
): { [K in V]: { type: 'string' } } & { [K in S]: { type: 'boolean' } } {
  const table: Record<string, { type: 'string' | 'boolean' }> = {}
  for (const name of valued) table[name] = { type: 'string' }
  for (const name of switches) table[name] = { type: 'boolean' }
  return table as { [K in V]: { type: 'string' } } & { [K in S]: { type: 'boolean' } }
}

/** Maps argv (after the suite name) onto bench options. */
export function parseOptions(args: string[]): Partial<BenchOptions> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: FLAGS,
  })
  const ceiling = values.ceiling
  return {
    target: values.target,
    postgresUrl: values['postgres-url'],
    redisUrl: values['redis-url'],
    natsUrl: values['nats-url'],
    database: values.database,
    serverCpus: values['server-cpus'],
    consumers: values.consumers as BenchOptions['consumers'] | undefined,
    dataset: values.dataset,
    generate: values.generate || values.users !== undefined || values.edges !== undefined ? true : undefined,
    graphUsers: number('users', values.users),
    graphEdges: number('edges', values.edges),
    maxPostsPerUser: number('posts-per-user', values['posts-per-user']),
    load: values['no-load'] ? false : values.load,
    smoke: values.smoke,
    warmupMs: seconds('warmup', values.warmup),
    durationMs: seconds('duration', values.duration),
    drainMs: seconds('drain', values.drain),
    arrival: values.arrival as BenchOptions['arrival'] | undefined,
    connections: number('connections', values.connections),
    timeoutMs: seconds('timeout', values.timeout),
    rate: number('rate', values.rate),
    startRate: number('start-rate', values['start-rate']),
    minRate: number('min-rate', values['min-rate']),
    maxRate: number('max-rate', values['max-rate']),
    precision: number('precision', values.precision),
    maxSteps: number('max-steps', values['max-steps']),
    slosMs: values.slo?.split(',').map((slo) => number('slo', slo) ?? Number.NaN),
    ceiling:
      ceiling === undefined || ceiling === 'measure' || ceiling === 'skip'
        ? ceiling
        : number('ceiling', ceiling),
    closedConnections: number('closed-connections', values['closed-connections']),
    wrk: values['no-wrk'] ? false : undefined,
    loadConcurrency: number('load-concurrency', values['load-concurrency']),
    seed: number('seed', values.seed),
    stages: values.stages
      ?.split(',')
      .map((stage) => stage.trim())
      .filter((stage) => stage !== ''),
    outDir: values.out,
    report: values['no-report'] ? false : undefined,
    ...(values.quiet ? { log: () => {} } : {}),
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n\nsuites: ${SUITES.map((s) => s.name).join(', ')}\n`)
    return command === undefined ? 1 : 0
  }
  if (command === 'list') {
    const width = Math.max(...SUITES.map((s) => s.name.length))
    for (const suite of SUITES) process.stdout.write(`${suite.name.padEnd(width)}  ${suite.description}\n`)
    return 0
  }
  if (command === 'report') {
    const which = rest[0]
    if (!which) throw new BenchError('E_BENCH_OPTION', 'report needs a suite name or a results JSON path')
    const path = existsSync(which) ? which : join(DEFAULT_OPTIONS.outDir, `${which}.json`)
    const own = findSuite((await readResults(path)).suite)?.report
    const files = own ? await own(path) : await writeReport(path)
    process.stdout.write(`${files.join('\n')}\n`)
    return 0
  }
  const suite = findSuite(command)
  if (!suite) {
    throw new BenchError(
      'E_BENCH_SUITE',
      `unknown suite ${command}; known: ${SUITES.map((s) => s.name).join(', ')}`,
    )
  }
  const options = resolveOptions(parseOptions(rest))
  const controller = new AbortController()
  const stop = (): void => controller.abort(new BenchError('E_BENCH_ABORTED', 'interrupted'))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const outcome = await suite.run(options, controller.signal)
  process.stdout.write(`${JSON.stringify({ suite: suite.name, metrics: outcome.metrics }, null, 2)}\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof BenchError) process.stderr.write(`${error.code}: ${error.message}\n`)
    else if (error instanceof Error && 'code' in error)
      process.stderr.write(`${String(error.code)}: ${error.message}\n`)
    else process.stderr.write(`${String(error)}\n`)
    if (error instanceof Error && error.cause) process.stderr.write(`  cause: ${String(error.cause)}\n`)
    process.exitCode = 1
  },
)
