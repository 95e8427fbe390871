import { mkdir } from 'node:fs/promises'
import { ensureMicroblogs } from './apps.js'
import { dropOrphanCanary } from './canary/take-out.js'
import { createContext, type Outcome, type UpContext } from './context.js'
import { StackError } from './errors.js'
import { ensureIdServices } from './id-service.js'
import { planStack, stackPaths } from './layout.js'
import { withLock } from './lock.js'
import { ensureNats } from './nats.js'
import { adoptNginx, ensureNginx } from './nginx.js'
import { type ResolvedStackOptions, resolveStackOptions, type StackOptions, stackDir } from './options.js'
import { requireBinaries, requireBuild, requireMicroblogBuild } from './paths.js'
import { ensurePatroni } from './patroni-stack.js'
import { assertPortsFree } from './ports.js'
import { adoptPostgres, ensurePostgres, ensureTraversable } from './postgres.js'
import { isRunning, stopProcess } from './processes.js'
import { ensureRedis } from './redis.js'
import { rollMicroblogs } from './restart.js'
import { checkVip, ensureVip } from './stack-vip.js'
import { allProcesses, type ProcessRecord, readState, type StackState } from './state.js'

/** What `stackUp` did. */
export interface StackUpResult {
  readonly state: StackState
  /** Per process: started, reused (it ran and is healthy), restarted (new settings), reloaded (nginx, new set of apps), stopped (scaled down). */
  readonly outcomes: ReadonlyMap<string, Outcome>
  readonly elapsedMs: number
}

/**
 * Brings the stack up in dependency order, each step health-gated: PostgreSQL primary, replicas,
 * Redis, NATS JetStream (`--ha`: a cluster of three), the ID services, the apps and consumers, then nginx
 * (`--vip`: then the VIP pair in front of it, see `stack-vip.ts`). Idempotent: what runs
 * is reused, what is missing is (re)started, a changed number of apps is a graceful nginx reload,
 * and changed `HF_*` settings roll the apps onto them one at a time.
 *
 * @example
 * const { state } = await stackUp({ apps: 2, replicas: 1, dir: '/var/tmp/my-stack' })
 * console.log(state.frontUrl) // http://127.0.0.1:8088
 */
export async function stackUp(options: StackOptions = {}): Promise<StackUpResult> {
  const started = Date.now()
  const env = options.env ?? process.env
  const dir = stackDir(options.dir, env)
  requireBinaries()
  requireBuild()
  await mkdir(dir, { recursive: true })
  await ensureTraversable(dir)
  await mkdir(stackPaths(dir).logs, { recursive: true, mode: 0o755 })
  return withLock(dir, async () => {
    const previous = await readState(dir)
    const resolved = resolveStackOptions({ ...options, dir }, previous?.settings)
    if (previous) refuseLayoutChange(previous, resolved)
    const state = planStack(resolved, previous)
    if (state.microblogBuild) {
      requireMicroblogBuild(
        state.microblogBuild,
        `the apps run the build a canary promoted (microblogBuild in ${dir}/stack.json): put it back, or start the stack afresh (\`npm run stack -- down --purge\`)`,
      )
    }
    const ctx = createContext(resolved, state)
    const { outcomes } = ctx
    // Before any nginx.conf is written: it must not name the address of a VIP network that is gone.
    await checkVip(ctx)
    // A canary nobody judges any more (its rollout was killed) must not keep its share.
    await dropOrphanCanary(ctx)
    await ctx.save()
    await assertPortsFree(await portsToTake(state))
    options.signal?.throwIfAborted()
    await ensurePostgres(ctx)
    await ensurePatroni(ctx)
    options.signal?.throwIfAborted()
    await ensureRedis(ctx)
    options.signal?.throwIfAborted()
    await ensureNats(ctx)
    options.signal?.throwIfAborted()
    await ensureIdServices(ctx)
    options.signal?.throwIfAborted()
    await ensureMicroblogs(ctx)
    options.signal?.throwIfAborted()
    await ensureNginx(ctx)
    options.signal?.throwIfAborted()
    const vip = await ensureVip(ctx, options.signal)
    if (vip) outcomes.set('vip', vip)
    if (previous) {
      await stopScaledDown(ctx, previous)
      if (settingsChanged(previous, state)) {
        const stale = [...state.apps, ...state.consumers].filter((r) => outcomes.get(r.name) === 'reused')
        if (stale.length > 0) {
          resolved.log(
            `settings changed (${describeChange(previous, state)}): rolling ${stale.length} processes`,
          )
          await rollMicroblogs(ctx, stale, undefined, options.signal)
        }
      }
    }
    await ctx.save()
    return { state, outcomes, elapsedMs: Date.now() - started }
  })
}

/** Every port of a process that does not run yet: all are checked before anything starts. */
async function portsToTake(state: StackState): Promise<Array<{ port: number; component: string }>> {
  const wanted: Array<{ port: number; component: string }> = []
  for (const record of allProcesses(state)) {
    if (record.kind === 'postgres' && (await adoptPostgres(record))) continue
    if (record.kind === 'nginx' && (await adoptNginx(state))) continue
    if (isRunning(record)) continue
    wanted.push({ port: record.port, component: record.name })
    if (record.monitorPort) wanted.push({ port: record.monitorPort, component: `${record.name} monitor` })
    if (record.routePort) wanted.push({ port: record.routePort, component: `${record.name} routes` })
  }
  return wanted
}

/** Ports and replicas are fixed while anything of the stack runs. */
function refuseLayoutChange(previous: StackState, next: ResolvedStackOptions): void {
  if (!allProcesses(previous).some(isRunning)) return
  const was = previous.settings
  const changes = (
    [
      ['--replicas', was.replicas, next.replicas],
      ['--port', was.port, next.port],
      ['--base-port', was.basePort, next.basePort],
      ['--ha', was.ha ?? false, next.ha],
      ['HF_PG_SYNC', was.pgSync ?? false, next.pgSync],
    ] as const
  ).filter(([, a, b]) => a !== b)
  if (changes.length === 0) return
  const what = changes.map(([flag, a, b]) => `${flag} ${a} → ${b}`).join(', ')
  throw new StackError(
    'E_INVALID_OPTION',
    `the stack in ${previous.dir} runs with other settings (${what}): \`npm run stack -- down\` first (add --purge for fresh clusters)`,
    { option: changes[0]![0], dir: previous.dir },
  )
}

function settingsChanged(previous: StackState, next: StackState): boolean {
  return describeChange(previous, next) !== ''
}

function describeChange(previous: StackState, next: StackState): string {
  const keys = new Set([...Object.keys(previous.appEnv), ...Object.keys(next.appEnv)])
  const changes = [...keys]
    .filter((k) => previous.appEnv[k] !== next.appEnv[k])
    .map((k) => `${k}: ${previous.appEnv[k] ?? '(unset)'} → ${next.appEnv[k] ?? '(unset)'}`)
  if (previous.settings.drainMs !== next.settings.drainMs) {
    changes.push(`HF_DRAIN_MS: ${previous.settings.drainMs} → ${next.settings.drainMs}`)
  }
  if (previous.namespace !== next.namespace)
    changes.push(`HF_NAMESPACE: ${previous.namespace} → ${next.namespace}`)
  return changes.join(', ')
}

/** Apps and consumers the previous stack had beyond the new counts: nginx no longer lists them; stop them. */
async function stopScaledDown(ctx: UpContext, previous: StackState): Promise<void> {
  const keep = new Set([...ctx.state.apps, ...ctx.state.consumers].map((r) => r.name))
  const extra: ProcessRecord[] = [...previous.apps, ...previous.consumers].filter((r) => !keep.has(r.name))
  for (const record of extra) {
    if ((await stopProcess(record, { timeoutMs: previous.settings.drainMs + 15_000 })) !== 'not-running') {
      ctx.note(record, 'stopped')
    }
  }
}
