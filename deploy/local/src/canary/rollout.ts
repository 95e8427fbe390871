import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { createContext, type UpContext } from '../context.js'
import { StackError } from '../errors.js'
import { stackPaths } from '../layout.js'
import { withLock } from '../lock.js'
import { reloadNginx, writeNginxConf } from '../nginx.js'
import { resolveStackOptions, stackDir } from '../options.js'
import { requireMicroblogBuild } from '../paths.js'
import { isRunning, procInfo } from '../processes.js'
import { readState } from '../state.js'
import { planCanaryApps, startCanaryApps } from './canary-apps.js'
import { type CanaryOptions, type ResolvedCanaryOptions, resolveCanaryOptions } from './canary-options.js'
import { formatOutcome, formatStep } from './format.js'
import { judgeStep } from './judge.js'
import { promoteCanary } from './promote.js'
import type { CanaryState, RolloutOutcome, RolloutRecord } from './record.js'
import { withRate } from './record.js'
import { openSplitLog, PoolTally, type SplitLogReader } from './split-log.js'
import { dropOrphanCanary, recordRollout, takeCanaryOut } from './take-out.js'

/**
 * A gray release: starts the canary processes from `options.build` beside the stack's apps, sends them
 * `share` of the requests through nginx (`split_clients`), and raises the share step by step (1% → 10%
 * → 50% → 100% by default), judging each step from nginx's split log — the canary's 5xx rate and p99
 * against the baseline's over the same step (`judgeStep`). A bad step rolls the canary back at once:
 * share 0, nginx reloaded, canary processes stopped. A healthy 100% promotes it: the apps and consumers
 * are restarted on its build one at a time, then the canary is taken out. Holds the stack's lock
 * throughout; `options.signal` (or `npm run stack -- canary --abort`) rolls back. Resolves with the
 * rollout's record, also in `stack.json` (`rollouts`).
 *
 * `E_NOT_RUNNING` without a running stack, `E_NOT_BUILT` when the build has no `dist/main.js`, `E_BUSY`
 * while another command holds the stack.
 *
 * @example
 * const record = await canaryRelease({ build: '/srv/microblog-v2', share: '1%', stepMs: 30_000, log: console.log })
 * if (record.outcome !== 'promoted') console.error(record.reason)
 */
export async function canaryRelease(options: CanaryOptions): Promise<RolloutRecord> {
  const resolved = resolveCanaryOptions(options)
  requireMicroblogBuild(resolved.build)
  const dir = stackDir(resolved.dir)
  return withLock(dir, async () => {
    const state = await readState(dir)
    if (!state || !isRunning(state.nginx)) {
      throw new StackError('E_NOT_RUNNING', `no running stack in ${dir} (npm run stack starts one)`, { dir })
    }
    const ctx = createContext(
      resolveStackOptions(
        { dir, env: {}, log: resolved.log, healthTimeoutMs: resolved.healthTimeoutMs },
        state.settings,
      ),
      state,
    )
    await dropOrphanCanary(ctx)
    return runRollout(ctx, resolved)
  })
}

async function runRollout(ctx: UpContext, options: ResolvedCanaryOptions): Promise<RolloutRecord> {
  const { state } = ctx
  const paths = stackPaths(state.dir)
  await rm(paths.canaryAbort, { force: true })
  const id = randomBytes(4).toString('hex')
  const startedAt = new Date().toISOString()
  const canary: CanaryState = {
    id,
    build: options.build,
    sharePct: 0,
    apps: planCanaryApps(state, options.canaryApps ?? state.apps.length, options.build),
    controller: { pid: process.pid, startTime: procInfo(process.pid)?.startTime },
    startedAt,
  }
  const record: RolloutRecord = {
    id,
    build: options.build,
    canaryApps: canary.apps.length,
    plannedSteps: options.steps,
    stepS: options.stepMs / 1000,
    rules: options.rules,
    startedAt,
    steps: [],
  }
  state.canary = canary
  recordRollout(state, record)
  await ctx.save()
  options.log(
    `canary ${id}: ${canary.apps.length} process(es) of ${options.build}; steps ${options.steps.map((s) => `${s}%`).join(' → ')}, ${record.stepS} s each`,
  )
  const abort = watchAbort(paths.canaryAbort, options.signal)
  const run: Run = {
    ctx,
    options,
    canary,
    record,
    reader: await openSplitLog(paths.splitLog),
    served: new PoolTally(),
  }
  try {
    const failed = await startCanaryApps(ctx, canary).then(
      () => undefined,
      (err: unknown) => err,
    )
    record.canaryProcesses = canary.apps.map((a) => ({ name: a.name, pid: a.pid, port: a.port }))
    if (failed) {
      if (!(failed instanceof StackError && failed.code === 'E_NOT_HEALTHY')) throw failed
      return await finish(run, 'rolled-back', `the canary did not start: ${failed.message.split('\n')[0]}`)
    }
    return await walkSteps(run, abort.signal)
  } catch (err) {
    if (abort.signal.aborted)
      return await finish(run, 'aborted', String(abort.signal.reason?.message ?? abort.signal.reason))
    // Anything else (nginx refused a configuration, a process would not stop): the canary goes first.
    if (state.canary)
      await finish(run, 'rolled-back', `the rollout failed: ${(err as Error).message}`).catch(() => {})
    throw err
  } finally {
    abort.dispose()
  }
}

/** What a rollout works with. */
interface Run {
  readonly ctx: UpContext
  readonly options: ResolvedCanaryOptions
  readonly canary: CanaryState
  readonly record: RolloutRecord
  readonly reader: SplitLogReader
  /** Everything the split log says each side served during the rollout. */
  readonly served: PoolTally
  /** When the canary's first share took effect. */
  firstShareAt?: number
}

/** Each step: set the share, then judge it every `pollMs` until it advances, promotes or rolls back. */
async function walkSteps(run: Run, signal: AbortSignal): Promise<RolloutRecord> {
  const { ctx, options, canary, record } = run
  const { steps, rules } = options
  const earlier = new PoolTally() // the steps before this one: the baseline at 100%, where it serves nothing
  for (const [index, sharePct] of steps.entries()) {
    signal.throwIfAborted()
    canary.sharePct = sharePct
    await ctx.save()
    if (await writeNginxConf(ctx.state)) await reloadNginx(ctx.state)
    const stepStart = Date.now()
    run.firstShareAt ??= stepStart
    options.log(`step ${index + 1}/${steps.length}: ${sharePct}% of requests to the canary`)
    const tally = new PoolTally()
    for (;;) {
      await sleep(options.pollMs, undefined, { signal })
      for (const line of await run.reader.readNew()) {
        run.served.add(line)
        if (line.atMs >= stepStart) tally.add(line)
      }
      const own = tally.figures('baseline')
      const source = own.requests >= rules.minRequests ? 'step' : 'rollout'
      const baseline = source === 'step' ? own : merged(earlier, tally).figures('baseline')
      const elapsedMs = Date.now() - stepStart
      const verdict = judgeStep(
        {
          sharePct,
          last: index === steps.length - 1,
          elapsedMs,
          holdMs: options.stepMs,
          canary: tally.figures('canary'),
          baseline,
        },
        rules,
      )
      if (verdict.action === 'hold') continue
      const step = {
        sharePct,
        heldS: round(elapsedMs / 1000, 1),
        action: verdict.action,
        reason: verdict.reason,
        canary: withRate(tally.figures('canary')),
        baseline: { ...withRate(baseline), source },
      } as const
      record.steps.push(step)
      options.log(formatStep(step, index, steps.length))
      await ctx.save()
      if (verdict.action === 'rollback') return finish(run, 'rolled-back', verdict.reason)
      if (verdict.action === 'promote') return promote(run)
      earlier.merge(tally)
      break
    }
  }
  throw new Error('unreachable: the last step promotes or rolls back')
}

/** At a healthy 100%: the apps and consumers onto the canary's build, then the canary out. */
async function promote(run: Run): Promise<RolloutRecord> {
  run.options.log(`promoting ${run.canary.build}: restarting the apps and consumers on it, one at a time`)
  run.record.promotedProcesses = await promoteCanary(run.ctx, run.canary)
  return finish(run, 'promoted', `healthy at every step; the apps and consumers run ${run.canary.build}`)
}

/** Takes the canary out (after promotion: its work is done), counts the rest of the log, records the end. */
async function finish(run: Run, outcome: RolloutOutcome, reason: string): Promise<RolloutRecord> {
  const { ctx, record, served } = run
  const decidedAt = Date.now()
  const zeroAt = await takeCanaryOut(ctx, run.canary)
  // What the canary answered between the verdict and nginx's old workers leaving.
  for (const line of await run.reader.readNew()) served.add(line)
  record.outcome = outcome
  record.reason = reason
  record.endedAt = new Date().toISOString()
  record.served = {
    canary: withRate(served.figures('canary')),
    baseline: withRate(served.figures('baseline')),
  }
  if (outcome !== 'promoted') {
    record.exposedS = run.firstShareAt === undefined ? 0 : round((zeroAt - run.firstShareAt) / 1000, 2)
    record.rollbackS = round((zeroAt - decidedAt) / 1000, 2)
  }
  recordRollout(ctx.state, record)
  await ctx.save()
  run.options.log(formatOutcome(record))
  return record
}

/** An AbortSignal that fires on `signal` or once `path` exists (`canary --abort` creates it). */
function watchAbort(path: string, signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const onAbort = () => controller.abort(signal?.reason ?? new Error('aborted'))
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  const timer = setInterval(() => {
    if (existsSync(path)) controller.abort(new Error('aborted by `npm run stack -- canary --abort`'))
  }, 200)
  timer.unref()
  return {
    signal: controller.signal,
    dispose() {
      clearInterval(timer)
      signal?.removeEventListener('abort', onAbort)
      rm(path, { force: true }).catch(() => {})
    },
  }
}

function merged(a: PoolTally, b: PoolTally): PoolTally {
  const all = new PoolTally()
  all.merge(a)
  all.merge(b)
  return all
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
