#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { runAllDrills } from './drills/all.js'
import type { DrillOptions } from './drills/drill.js'
import { DRILLS, findDrill } from './drills/registry.js'
import { BenchError } from './errors.js'
import { DEFAULT_DATASET_DIR, RESULTS_DIR } from './paths.js'

const USAGE = `usage: npm run drill -- <drill> [options]
       npm run drill -- all [options]     every drill in turn on one --ha stack → bench/results/drills.json
       npm run drill -- list

  --rate <rps>      the mix's offered rate   [half the MST in bench/results/dsb-mixed-stack.json, else 200]
  --around <s>      load before and after the fault, each  [5]
  --dir <dir>       the stack's directory    [HF_STACK_DIR, else the stack's default]
  --apps <n>        app processes of a stack the drill starts  [2]
  --dataset <dir>   socfb-Reed98 folder, loaded when the drill starts the stack
  --seed <n>        [1]
  --out <dir>       results folder           [bench/results]
  --quiet           no progress lines
  --mtbf-days <n>   all: how often each failure is assumed to happen, for the availability figure  [30]

The drill uses the stack running in --dir as it is, or starts one and stops it after.`

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!(parsed > 0)) throw new BenchError('E_BENCH_OPTION', `--${flag} must be a positive number`)
  return parsed
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n\ndrills: ${DRILLS.map((d) => d.name).join(', ')}\n`)
    return name === undefined ? 1 : 0
  }
  if (name === 'list') {
    for (const drill of DRILLS) process.stdout.write(`${drill.name.padEnd(16)}  ${drill.description}\n`)
    return 0
  }
  const drill = name === 'all' ? undefined : findDrill(name)
  if (!drill && name !== 'all') {
    throw new BenchError(
      'E_BENCH_SUITE',
      `unknown drill ${name}; known: ${DRILLS.map((d) => d.name).join(', ')}`,
    )
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      rate: { type: 'string' },
      around: { type: 'string' },
      dir: { type: 'string' },
      apps: { type: 'string' },
      dataset: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      'mtbf-days': { type: 'string' },
    },
  })
  const options: DrillOptions = {
    rate: positive('rate', values.rate),
    aroundMs: (positive('around', values.around) ?? 5) * 1000,
    dir: values.dir ?? process.env['HF_STACK_DIR'],
    apps: positive('apps', values.apps),
    dataset: values.dataset ?? DEFAULT_DATASET_DIR,
    seed: positive('seed', values.seed) ?? 1,
    outDir: values.out ?? RESULTS_DIR,
    log: values.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`),
  }
  const controller = new AbortController()
  const stop = (): void => controller.abort(new BenchError('E_BENCH_ABORTED', 'interrupted'))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  if (!drill) {
    const mtbfDays = positive('mtbf-days', values['mtbf-days'])
    const all = await runAllDrills(
      { ...options, ...(mtbfDays === undefined ? {} : { mtbfS: mtbfDays * 86_400 }) },
      controller.signal,
    )
    process.stdout.write(`${JSON.stringify({ drill: 'all', metrics: all.metrics }, null, 2)}\n`)
    return all.metrics['floors_met'] ? 0 : 2
  }
  const outcome = await drill.run(options, controller.signal)
  process.stdout.write(`${JSON.stringify({ drill: drill.name, metrics: outcome.metrics }, null, 2)}\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const code = (error as { code?: unknown }).code
    process.stderr.write(
      `${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message ?? error}\n`,
    )
    if (error instanceof Error && error.cause) process.stderr.write(`  cause: ${String(error.cause)}\n`)
    process.exitCode = 1
  },
)
