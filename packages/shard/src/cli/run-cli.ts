import { parseArgs } from 'node:util'
import { formatMigrationReport, formatStep } from '../ddl/format-report.js'
import { migrate } from '../ddl/migrate.js'
import { loadMigrationsDir } from '../ddl/migrations-dir.js'
import { loadShardMapFile } from '../map/shard-map-store.js'
import type { ConnectShard } from '../router/router-options.js'
import { describeError } from './describe-error.js'
import { RESHARD_USAGE, runReshard } from './reshard-command.js'

/** Where the CLI writes, and how it connects (tests). */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  /** @default pgConnect with a pool of 2 per database */
  connect?: ConnectShard
  /** Stops the command (Ctrl-C): a cutover not past its point of no return releases the writes. */
  signal?: AbortSignal
}

const USAGE = `usage: hundredfold-shard <command> [options]

commands:
  migrate --map <file> --dir <dir> [--dry-run] [--now <iso date>] [--concurrency <n>]
      create the map's missing databases, then apply the *.sql files of <dir> (in name order)
      to every physical table they name; a rerun applies only what is missing
${RESHARD_USAGE}

exit status: 0 done, 1 failed (or verify found differences), 2 bad usage`

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
}

/**
 * `hundredfold-shard` without the process: runs a command line and resolves with the exit status.
 *
 * @example
 * process.exitCode = await runCli(['migrate', '--map', 'map.json', '--dir', 'migrations', '--dry-run'])
 * process.exitCode = await runCli(['reshard', 'status', '--map', 'postgres://app@10.0.0.1:5432/app_00', '--json'])
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === 'reshard') return runReshard(rest, io)
  if (command !== 'migrate') {
    io.stderr(`hundredfold-shard: unknown command ${command}\n\n${USAGE}`)
    return 2
  }
  let values: { map?: string; dir?: string; 'dry-run'?: boolean; now?: string; concurrency?: string }
  try {
    ;({ values } = parseArgs({
      args: [...rest],
      options: {
        map: { type: 'string' },
        dir: { type: 'string' },
        'dry-run': { type: 'boolean' },
        now: { type: 'string' },
        concurrency: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    io.stderr(`hundredfold-shard migrate: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (!values.map || !values.dir) {
    io.stderr(`hundredfold-shard migrate: --map and --dir are required\n\n${USAGE}`)
    return 2
  }
  const now = values.now === undefined ? Date.now() : Date.parse(values.now)
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency)
  if (!Number.isFinite(now) || !Number.isInteger(concurrency) || concurrency < 1) {
    io.stderr('hundredfold-shard migrate: --now must be an ISO date and --concurrency a positive integer')
    return 2
  }
  try {
    const map = await loadShardMapFile(values.map)
    const migrations = await loadMigrationsDir(values.dir)
    const dryRun = values['dry-run'] ?? false
    const report = await migrate(map, migrations, {
      dryRun,
      now,
      concurrency,
      ...(io.connect ? { connect: io.connect } : {}),
      // Applied steps are printed as they commit, so a failure leaves a log of what went through.
      ...(dryRun ? {} : { onStep: (step) => io.stdout(formatStep(step)) }),
    })
    const summary = formatMigrationReport(report).split('\n')
    io.stdout((dryRun ? summary : summary.filter((l) => !l.includes(' → '))).join('\n'))
    return 0
  } catch (err) {
    io.stderr(`hundredfold-shard migrate: ${describeError(err)}`)
    return 1
  }
}
