#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { stackDown } from './down.js'
import { StackError } from './errors.js'
import { isRunning } from './processes.js'
import { restartApps } from './restart-apps.js'
import { allProcesses } from './state.js'
import { readStackState, stackStatus } from './status.js'
import { formatDown, formatStatus, formatUpSummary } from './summary.js'
import { stackUp } from './up.js'

const usage = `npm run stack [-- up] [--apps N] [--replicas R] [--consumers C] [--port P] [--base-port B] [--dir D] [--ha]
npm run stack -- status [--dir D] [--json]     exit 0 when every process is healthy
npm run stack -- restart apps [--dir D]        one app at a time, out of nginx while it restarts; then the consumers
npm run stack -- down [--dir D] [--purge]      stops what the stack started, by PID; --purge removes its data

Defaults: 2 apps, 2 replicas, 1 consumer, nginx on 8088, internal ports from 18000, data in
/var/tmp/hundredfold-stack (HF_STACK_APPS, HF_STACK_REPLICAS, HF_STACK_CONSUMERS, HF_STACK_PORT,
HF_STACK_BASE_PORT, HF_STACK_DIR; flags win). Every other HF_* variable goes to the apps.
--ha (HF_STACK_HA=on): PostgreSQL under Patroni over a 3-member etcd, failing over on its own;
HF_PG_SYNC=on adds one synchronous standby.`

const say = (line: string) => process.stdout.write(`  · ${line}\n`)

function integer(values: Record<string, unknown>, flag: string): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) {
    throw new StackError(
      'E_INVALID_OPTION',
      `--${flag} must be a non-negative integer, got '${String(raw)}'`,
      {
        option: `--${flag}`,
      },
    )
  }
  return Number(raw)
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`)
    return 2
  }
  const { values, positionals } = parsed
  const command = positionals[0] ?? 'up'
  const dir = values.dir
  if (values.help || command === 'help') {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  switch (command) {
    case 'up': {
      const apps = integer(values, 'apps')
      const replicas = integer(values, 'replicas')
      const consumers = integer(values, 'consumers')
      const port = integer(values, 'port')
      const basePort = integer(values, 'base-port')
      const result = await stackUp({
        ...(dir ? { dir } : {}),
        ...(apps !== undefined ? { apps } : {}),
        ...(replicas !== undefined ? { replicas } : {}),
        ...(consumers !== undefined ? { consumers } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(basePort !== undefined ? { basePort } : {}),
        ...(values.ha ? { ha: true } : {}),
        log: say,
      })
      process.stdout.write(`\n${formatUpSummary(result.state, result.outcomes, result.elapsedMs)}\n`)
      return 0
    }
    case 'status': {
      const status = await stackStatus(dir)
      process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`)
      return status.healthy ? 0 : 1
    }
    case 'down': {
      const result = await stackDown(dir, { purge: values.purge === true, log: say })
      process.stdout.write(`${formatDown(result)}\n`)
      return 0
    }
    case 'restart': {
      if (positionals[1] !== 'apps') {
        process.stderr.write(`restart takes one target: apps\n\n${usage}\n`)
        return 2
      }
      const started = Date.now()
      await restartApps(dir, { log: say })
      process.stdout.write(
        `apps restarted one at a time in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      )
      const status = await stackStatus(dir)
      process.stdout.write(`${formatStatus(status)}\n`)
      return status.healthy ? 0 : 1
    }
    default:
      process.stderr.write(`unknown command '${command}'\n\n${usage}\n`)
      return 2
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      apps: { type: 'string' },
      replicas: { type: 'string' },
      consumers: { type: 'string' },
      port: { type: 'string' },
      'base-port': { type: 'string' },
      dir: { type: 'string' },
      purge: { type: 'boolean' },
      ha: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

/** After a failed command: whether some of the stack runs, so the user knows to look or stop it. */
async function somethingRuns(dir: string | undefined): Promise<boolean> {
  const state = await readStackState(dir).catch(() => undefined)
  return state !== undefined && allProcesses(state).some(isRunning)
}

// `npm run stack -- down | head -1` must not stop a `down` half-way: a closed stdout is ignored.
process.stdout.on('error', () => {})
const argv = process.argv.slice(2)
main(argv).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    const code = err instanceof StackError ? ` (${err.code})` : ''
    process.stderr.write(`stack failed${code}: ${(err as Error).message ?? err}\n`)
    const dirFlag = argv.indexOf('--dir')
    if (await somethingRuns(dirFlag >= 0 ? argv[dirFlag + 1] : undefined)) {
      process.stderr.write(
        'what did start keeps running: `npm run stack -- status` shows it, `npm run stack -- down` stops it\n',
      )
    }
    process.exit(err instanceof StackError && err.code === 'E_INVALID_OPTION' ? 2 : 1)
  },
)
