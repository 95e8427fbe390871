#!/usr/bin/env node
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { abortCanary } from './canary/abort.js'
import { canaryDefaults, parseShare } from './canary/canary-options.js'
import { canaryRelease } from './canary/rollout.js'
import { stackDown } from './down.js'
import { StackError } from './errors.js'
import { isRunning } from './processes.js'
import { restartApps } from './restart-apps.js'
import { allProcesses } from './state.js'
import { readStackState, stackStatus } from './status.js'
import { formatDown, formatStatus, formatUpSummary } from './summary.js'
import { stackUp } from './up.js'

const usage = `npm run stack [-- up] [--apps N] [--replicas R] [--consumers C] [--port P] [--base-port B] [--dir D] [--ha] [--vip]
npm run stack -- status [--dir D] [--json]     exit 0 when every process is healthy
npm run stack -- restart apps [--dir D]        one app at a time, out of nginx while it restarts; then the consumers
npm run stack -- down [--dir D] [--purge]      stops what the stack started, by PID; --purge removes its data
npm run stack -- canary <build dir> [--share 1%] [--step-s 30] [--steps 10,50,100] [--canary-apps N]
                 [--min-requests 20] [--dir D] [--json]
                                               a gray release of the build: share → 10% → 50% → 100%, each
                                               step judged on the canary's 5xx and p99 against the apps';
                                               rolled back on a bad step, promoted at a healthy 100%
                                               (exit 0 promoted, 1 rolled back)
npm run stack -- canary --abort [--dir D]      rolls the running canary back

Defaults: 2 apps, 2 replicas, 1 consumer, nginx on 8088, internal ports from 18000, data in
/var/tmp/hundredfold-stack (HF_STACK_APPS, HF_STACK_REPLICAS, HF_STACK_CONSUMERS, HF_STACK_PORT,
HF_STACK_BASE_PORT, HF_STACK_DIR; flags win). Every other HF_* variable goes to the apps.
--ha (HF_STACK_HA=on): PostgreSQL under Patroni over a 3-member etcd, failing over on its own;
HF_PG_SYNC=on adds one synchronous standby.
--vip (HF_STACK_VIP=on): a floating address in front of nginx, two nginx in two network namespaces
with keepalived moving the VIP between them (root, keepalived); the summary prints its URL.`

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
        ...(values.vip ? { vip: true } : {}),
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
    case 'canary':
      return canary(values, positionals, dir)
    default:
      process.stderr.write(`unknown command '${command}'\n\n${usage}\n`)
      return 2
  }
}

/** `canary <build>` or `canary --abort`. */
async function canary(
  values: ReturnType<typeof parse>['values'],
  positionals: string[],
  dir: string | undefined,
): Promise<number> {
  const log = values.json ? () => {} : say
  if (values.abort) {
    const record = await abortCanary(dir, { log })
    if (!record) {
      process.stdout.write(values.json ? 'null\n' : 'no canary runs: nothing to roll back\n')
      return 0
    }
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`)
    return 0
  }
  const build = positionals[1]
  if (!build || positionals.length > 2) {
    process.stderr.write(`canary takes one build directory (or --abort)\n\n${usage}\n`)
    return 2
  }
  const stepS = values['step-s'] === undefined ? undefined : Number(values['step-s'])
  if (stepS !== undefined && !(stepS > 0)) {
    throw new StackError(
      'E_INVALID_OPTION',
      `--step-s must be a positive number, got '${values['step-s']}'`,
      {
        option: '--step-s',
      },
    )
  }
  const steps = values.steps?.split(',').map((s) => parseShare(s, '--steps'))
  const canaryApps = integer(values, 'canary-apps')
  const minRequests = integer(values, 'min-requests')
  const controller = new AbortController()
  const stop = (signal: NodeJS.Signals) => controller.abort(new Error(`interrupted (${signal})`))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const record = await canaryRelease({
    // `npm run` starts in the repository's root; a relative path is meant from where it was typed.
    build: resolve(process.env['INIT_CWD'] ?? process.cwd(), build),
    ...(dir ? { dir } : {}),
    share: parseShare(values.share ?? canaryDefaults.share, '--share'),
    ...(stepS !== undefined ? { stepMs: stepS * 1000 } : {}),
    ...(steps ? { steps } : {}),
    ...(canaryApps !== undefined ? { canaryApps } : {}),
    ...(minRequests !== undefined ? { rules: { minRequests } } : {}),
    log,
    signal: controller.signal,
  })
  process.stdout.write(`${JSON.stringify(record, null, 2)}\n`)
  return record.outcome === 'promoted' ? 0 : 1
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
      vip: { type: 'boolean' },
      json: { type: 'boolean' },
      share: { type: 'string' },
      'step-s': { type: 'string' },
      steps: { type: 'string' },
      'canary-apps': { type: 'string' },
      'min-requests': { type: 'string' },
      abort: { type: 'boolean' },
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
