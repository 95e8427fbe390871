import { writeFile } from 'node:fs/promises'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import { ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import type { ShardServerDocument } from '../map/shard-map-document.js'
import { loadShardMap, loadShardMapFile } from '../map/shard-map-store.js'
import { withAdmin } from '../reshard/pg-admin.js'
import { planDoubling, type ReshardPlan } from '../reshard/reshard-plan.js'
import { Resharding } from '../reshard/resharding.js'
import { databaseUrl } from '../router/default-connect.js'
import { describeError } from './describe-error.js'
import { formatPlan, formatStatus, formatSwitch, formatVerify } from './format-reshard.js'
import type { CliIo } from './run-cli.js'

export const RESHARD_USAGE = `  reshard plan --map <file|url> --to <databases> [--servers <name>=<url>,…] [--id <id>] [--out <file>]
      print the doubled map (or write it to <file>) and which new database takes half of each old one
  reshard start --map <file|url> --to <databases> [--servers …] [--id <id>]
      record the plan in hf_reshard (database 0), create the new databases and start copying
  reshard status --map <file|url> [--id <id>] [--wait [--timeout-ms <ms>]]
      copy progress, replication lag and the routers watching; --wait until caught up
  reshard verify --map <file|url> [--id <id>]
      compare the rows that move on both sides (count + checksum); exit 1 on any difference
  reshard cutover --map <file|url> [--id <id>] [--max-pause-ms 1000] [--router-wait-ms 6000]
      hold every watching router's writes (buffered, not failed), fence, switch them to the doubled map;
      replication goes on in reverse until complete
  reshard reverse --map <file|url> [--id <id>] [--max-pause-ms 1000] [--router-wait-ms 6000]
      switch back to the old layout the same way; the new databases follow again (cutover may follow)
  reshard complete --map <file|url> [--id <id>] [--batch-rows 5000]
      end the reverse replication and delete the redundant half on each side
  reshard abort --map <file|url> [--id <id>]
      before a cutover (or after a reverse): drop the new databases
      --map: a map file, or the postgres:// url of the database holding hf_shard_map;
      --id: the resharding (default: the one in progress); --json: the result as JSON`

const STEPS = ['plan', 'start', 'status', 'verify', 'cutover', 'reverse', 'complete', 'abort'] as const
type Step = (typeof STEPS)[number]

const OPTIONS = {
  map: { type: 'string' },
  id: { type: 'string' },
  json: { type: 'boolean' },
  to: { type: 'string' },
  servers: { type: 'string', multiple: true },
  out: { type: 'string' },
  wait: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  'max-pause-ms': { type: 'string' },
  'router-wait-ms': { type: 'string' },
  'batch-rows': { type: 'string' },
} as const

type OptionName = keyof typeof OPTIONS

/** Which options each step takes (besides `--map`, `--id`, `--json`). */
const STEP_OPTIONS: Record<Step, readonly OptionName[]> = {
  plan: ['to', 'servers', 'out'],
  start: ['to', 'servers'],
  status: ['wait', 'timeout-ms'],
  verify: [],
  cutover: ['max-pause-ms', 'router-wait-ms'],
  reverse: ['max-pause-ms', 'router-wait-ms'],
  complete: ['batch-rows'],
  abort: [],
}

interface Values {
  map?: string
  id?: string
  json?: boolean
  to?: string
  servers?: string[]
  out?: string
  wait?: boolean
  'timeout-ms'?: string
  'max-pause-ms'?: string
  'router-wait-ms'?: string
  'batch-rows'?: string
}

/** A usage error: the command line itself is wrong (status 2). */
class UsageError extends Error {}

/**
 * `hundredfold-shard reshard <step> …`: each step a process of its own, the resharding's state in
 * `hf_reshard` of the map's database 0.
 */
export async function runReshard(argv: readonly string[], io: CliIo): Promise<number> {
  const [step, ...rest] = argv
  const usage = (message: string) => {
    io.stderr(`hundredfold-shard reshard: ${message}\n\nusage:\n${RESHARD_USAGE}`)
    return 2
  }
  if (step === undefined || !(STEPS as readonly string[]).includes(step)) {
    return usage(step === undefined ? 'which step?' : `unknown step ${step}`)
  }
  const name = step as Step
  let values: Values
  try {
    ;({ values } = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: false }))
  } catch (err) {
    return usage((err as Error).message)
  }
  const allowed = new Set<string>(['map', 'id', 'json', ...STEP_OPTIONS[name]])
  const stray = Object.keys(values).find((k) => !allowed.has(k))
  if (stray !== undefined) return usage(`${name} takes no --${stray}`)
  if (!values.map) return usage(`${name} needs --map`)
  try {
    return await STEP_RUNNERS[name](values as Values & { map: string }, io)
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message)
    io.stderr(`hundredfold-shard reshard ${name}: ${describeError(err)}`)
    return 1
  }
}

type Runner = (values: Values & { map: string }, io: CliIo) => Promise<number>

const STEP_RUNNERS: Record<Step, Runner> = {
  async plan(values, io) {
    const plan = planOf(await loadMap(values.map, io.signal), values)
    if (values.out) await writeFile(values.out, `${JSON.stringify(plan.to, null, 2)}\n`)
    if (values.json) io.stdout(JSON.stringify(plan, null, 2))
    else {
      io.stdout(formatPlan(plan))
      io.stdout(values.out ? `the doubled map is in ${values.out}` : JSON.stringify(plan.to, null, 2))
    }
    return 0
  },

  async start(values, io) {
    const map = await loadMap(values.map, io.signal)
    const plan = planOf(map, values)
    const resharding = await createOrResume(plan, io.signal)
    await resharding.start(signalled(io))
    const status = await resharding.status(signalled(io))
    if (values.json) io.stdout(JSON.stringify(status, null, 2))
    else {
      io.stdout(
        `started ${plan.id}: ${plan.pairs.length} new databases copying (follow with reshard status --wait)`,
      )
    }
    return 0
  },

  async status(values, io) {
    const timeoutMs = positive(values, 'timeout-ms', 600_000)
    const resharding = await load(values, io)
    let status = await resharding.status(signalled(io))
    let code = 0
    if (values.wait) {
      const deadline = AbortSignal.timeout(timeoutMs)
      try {
        status = await resharding.waitCaughtUp({
          signal: io.signal ? AbortSignal.any([io.signal, deadline]) : deadline,
        })
      } catch (err) {
        if (!deadline.aborted) throw err
        status = await resharding.status(signalled(io))
        io.stderr(`hundredfold-shard reshard status: not caught up after ${timeoutMs} ms`)
        code = 1
      }
    }
    io.stdout(values.json ? JSON.stringify(status, null, 2) : formatStatus(status))
    return code
  },

  async verify(values, io) {
    const report = await (await load(values, io)).verify(signalled(io))
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatVerify(report))
    return report.ok ? 0 : 1
  },

  async cutover(values, io) {
    const options = switchOptions(values)
    const resharding = await load(values, io)
    const report = await resharding.cutover({ ...options, ...signalled(io) })
    io.stdout(
      values.json ? JSON.stringify(report, null, 2) : formatSwitch('cut over', resharding.plan.id, report),
    )
    return 0
  },

  async reverse(values, io) {
    const options = switchOptions(values)
    const resharding = await load(values, io)
    const report = await resharding.reverse({ ...options, ...signalled(io) })
    io.stdout(
      values.json ? JSON.stringify(report, null, 2) : formatSwitch('reversed', resharding.plan.id, report),
    )
    return 0
  },

  async complete(values, io) {
    const batchRows = positive(values, 'batch-rows', 5000)
    const resharding = await load(values, io)
    const done = await resharding.complete({ batchRows, ...signalled(io) })
    io.stdout(
      values.json
        ? JSON.stringify(done)
        : `completed ${resharding.plan.id}: ${done.deletedRows} redundant rows deleted; map version ${resharding.mapVersion} stays`,
    )
    return 0
  },

  async abort(values, io) {
    const resharding = await load(values, io)
    await resharding.abort(signalled(io))
    io.stdout(
      values.json
        ? JSON.stringify({ id: resharding.plan.id, state: resharding.state })
        : `aborted ${resharding.plan.id}: the new databases are dropped; map version ${resharding.mapVersion} stays`,
    )
    return 0
  },
}

/** A map file, or the newest map of `hf_shard_map` in the database a `postgres://` url names. */
async function loadMap(source: string, signal: AbortSignal | undefined): Promise<ShardMap> {
  if (!/^postgres(ql)?:\/\//.test(source)) return loadShardMapFile(source, signal ? { signal } : {})
  return withAdmin(
    source,
    (sql) =>
      loadShardMap({
        query: async <Row>(text: string, params?: readonly unknown[]) => {
          const rows = await sql<Row>(text, params)
          return { rows, rowCount: rows.length }
        },
      }),
    signal,
  )
}

/** The recorded resharding: `--id`, or the one in progress, from database 0 of the map. */
async function load(values: Values & { map: string }, io: CliIo): Promise<Resharding> {
  const map = await loadMap(values.map, io.signal)
  const first = map.databases[0]!
  return Resharding.load(databaseUrl(first.server.primary, first.name), values.id, signalled(io))
}

function planOf(map: ShardMap, values: Values): ReshardPlan {
  const n = map.databases.length
  if (values.to === undefined) throw new UsageError('--to is required: the database count after doubling')
  if (Number(values.to) !== 2 * n) {
    throw new UsageError(
      `--to must be ${2 * n}: twice the map's ${n} databases (doubling is the only resharding)`,
    )
  }
  return planDoubling(map, {
    ...(values.servers ? { servers: serversOf(values.servers) } : {}),
    ...(values.id ? { id: values.id } : {}),
  })
}

/** `--servers b=postgres://…` (repeated, or comma-separated). */
function serversOf(args: readonly string[]): Record<string, ShardServerDocument> {
  const servers: Record<string, ShardServerDocument> = {}
  for (const item of args.flatMap((a) => a.split(/,(?=[a-z][a-z0-9_]*=)/))) {
    const match = /^([a-z][a-z0-9_]*)=(postgres(?:ql)?:\/\/\S+)$/.exec(item.trim())
    if (!match) throw new UsageError(`--servers takes <name>=<postgres://url>, not ${item}`)
    servers[match[1]!] = { primary: match[2]! }
  }
  return servers
}

/** `start` again after a failure picks the recorded resharding up, if it is the same plan. */
async function createOrResume(plan: ReshardPlan, signal: AbortSignal | undefined): Promise<Resharding> {
  try {
    return await Resharding.create(plan, signal ? { signal } : {})
  } catch (err) {
    if (!(err instanceof ShardError && err.code === 'E_RESHARD_STATE' && err.state === 'exists')) throw err
    const recorded = await Resharding.load(plan.pairs[0]!.source.url, plan.id, signal ? { signal } : {})
    if (!isDeepStrictEqual(recorded.plan, JSON.parse(JSON.stringify(plan)))) {
      throw new ShardError(
        'E_RESHARD_STATE',
        `a different resharding ${plan.id} is recorded already: pass another --id`,
        { state: 'exists' },
      )
    }
    return recorded
  }
}

function switchOptions(values: Values) {
  return {
    maxPauseMs: positive(values, 'max-pause-ms', 1000),
    routerWaitMs: positive(values, 'router-wait-ms', 6000),
  }
}

function positive(
  values: Values,
  option: 'timeout-ms' | 'max-pause-ms' | 'router-wait-ms' | 'batch-rows',
  fallback: number,
) {
  const text = values[option]
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`--${option} must be a positive integer`)
  return value
}

function signalled(io: CliIo): { signal?: AbortSignal } {
  return io.signal ? { signal: io.signal } : {}
}
