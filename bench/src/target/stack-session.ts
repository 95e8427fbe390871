import {
  killApp,
  killPrimary,
  primaryDatabaseUrl,
  readStackState,
  restartApps,
  type StackState,
  stackDir,
  stackDown,
  stackUp,
} from '@hundredfold/stack'
import { BenchError } from '../errors.js'
import { type AppStack, settleQueue } from './app-stack.js'

/** How long `settle` waits for the write queue. */
const SETTLE_TIMEOUT_MS = 300_000

/** The stack a run works on: the one already up in `dir`, or one started for the run. */
export interface StackSession extends AsyncDisposable {
  readonly state: StackState
  /** True when this run started it (then it was empty, and it is stopped again on dispose). */
  readonly started: boolean
  /** Re-reads `stack.json` (PIDs change when apps restart). */
  refresh(): Promise<StackState>
  /** Restarts the app processes one at a time, each drained first. */
  restartApps(signal: AbortSignal, onEach?: (name: string) => void): Promise<void>
  /** Sends `signal` to app `index` (0-based) and waits for it to exit; `repair` brings it back. */
  killApp(index: number, signal: NodeJS.Signals): Promise<void>
  /** `--ha`: SIGKILLs the PostgreSQL primary's postmaster and Patroni; resolves with the member's name. */
  killPrimary(signal: AbortSignal): Promise<string>
  /** The `microblog` database of the primary now (with `--ha`, the member Patroni names). */
  primaryDatabaseUrl(signal: AbortSignal): Promise<string>
  /** Starts again whatever of the stack is not running (`npm run stack` on a stack partly down). */
  repair(): Promise<void>
  /** Waits until the stack's write queue has no unconsumed posts or follows (at most 5 minutes). */
  settle(signal: AbortSignal, log: (line: string) => void): Promise<void>
}

/** What `openStackSession` needs. */
export interface StackSessionOptions {
  /** The stack's directory. @default the stack's own default (`HF_STACK_DIR`, else /var/tmp/hundredfold-stack) */
  dir?: string
  /** App processes of a stack this run starts. @default the stack's default (2) */
  apps?: number
  /** The run needs PostgreSQL under Patroni (`npm run stack -- --ha`): starts one so, refuses a running stack without. */
  ha?: boolean
  log: (line: string) => void
}

/**
 * The environment a stack started for a bench run serves with: the DeathStarBench surface, the ceiling
 * route, request logs down to warnings.
 */
export const STACK_BENCH_ENV = {
  HF_WRK2_API: 'on',
  HF_CEILING_ROUTE: 'on',
  HF_LOG_LEVEL: process.env['HF_LOG_LEVEL'] ?? 'warn',
  // Loading signs every dataset user up and in from this one address.
  HF_LOGIN_LIMIT_IP: 'off',
  HF_REGISTER_LIMIT_IP: 'off',
}

/**
 * Uses the stack already running in `dir` as it is, or starts one (with the DeathStarBench surface) and
 * stops it again on dispose: a run leaves the stack as it found it.
 *
 * @example
 * await using stack = await openStackSession({ log: console.error })
 * console.log(stack.state.frontUrl)
 */
export async function openStackSession(options: StackSessionOptions): Promise<StackSession> {
  const dir = stackDir(options.dir)
  const existing = await readStackState(dir)
  let started = false
  if (existing && (await isUp(existing))) {
    if (options.ha && !existing.patroni) {
      throw new BenchError(
        'E_BENCH_TARGET',
        `the stack in ${dir} runs without --ha; this run needs PostgreSQL under Patroni: \`npm run stack -- down\`, then \`npm run stack -- --ha\` (or let the run start it)`,
        { context: { dir } },
      )
    }
    options.log(`stack in ${dir} is up: using it as it is (${existing.apps.length} apps)`)
  } else {
    options.log(`starting a stack in ${dir}`)
    await stackUp({
      dir,
      ...(options.apps === undefined ? {} : { apps: options.apps }),
      ...(options.ha ? { ha: true } : {}),
      env: { ...process.env, ...STACK_BENCH_ENV },
      log: (line) => options.log(`stack: ${line}`),
    })
    started = true
  }
  let state = (await readStackState(dir)) as StackState
  return {
    get state() {
      return state
    },
    started,
    async refresh() {
      state = (await readStackState(dir)) ?? state
      return state
    },
    async restartApps(_signal, onEach) {
      state = await restartApps(dir, { log: (line) => onEach?.(line) })
    },
    async killApp(index, signal) {
      await killApp(dir, index, signal)
    },
    async killPrimary(signal) {
      return (await killPrimary(dir, 'SIGKILL', { signal })).member
    },
    primaryDatabaseUrl(signal) {
      return primaryDatabaseUrl(state, { signal })
    },
    async repair() {
      await stackUp({
        dir,
        env: { ...process.env, ...state.appEnv },
        log: (line) => options.log(`stack: ${line}`),
      })
      state = (await readStackState(dir)) ?? state
    },
    settle(signal, log) {
      const queue: AppStack = {
        kind: 'full',
        postgres: true,
        natsUrl: state.natsUrl,
        redisUrl: state.redisUrl,
      }
      return settleQueue(queue, state.namespace, { timeoutMs: SETTLE_TIMEOUT_MS, log }, signal)
    },
    async [Symbol.asyncDispose]() {
      if (started) await stackDown(dir, { log: (line) => options.log(`stack: ${line}`) })
    },
  }
}

async function isUp(state: StackState): Promise<boolean> {
  try {
    const response = await fetch(`${state.frontUrl}/readyz`, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}
