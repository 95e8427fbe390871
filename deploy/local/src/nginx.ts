import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { run } from './commands.js'
import type { UpContext } from './context.js'
import { StackError } from './errors.js'
import { httpProbe, waitHealthy } from './health.js'
import { stackPaths } from './layout.js'
import { renderNginxConf } from './nginx-conf.js'
import { binaries } from './paths.js'
import { assertPortsFree } from './ports.js'
import { childrenOf, isRunning, procInfo, waitForExit } from './processes.js'
import type { ProcessRecord, StackState } from './state.js'

/** Which apps the upstream lists: all of them, or all but those being restarted. */
export interface UpstreamChoice {
  /** Apps left out (by name); if that would leave none, the last one stays listed as `down`. */
  readonly without?: ReadonlySet<string>
}

/** Writes nginx.conf for the state's apps (and its canary's share, if one runs); whether it changed. */
export async function writeNginxConf(state: StackState, choice: UpstreamChoice = {}): Promise<boolean> {
  const paths = stackPaths(state.dir)
  const without = choice.without ?? new Set<string>()
  let upstreams = state.apps.filter((a) => !without.has(a.name)).map((a) => ({ port: a.port }))
  if (upstreams.length === 0) upstreams = state.apps.map((a) => ({ port: a.port, down: true }))
  const text = renderNginxConf({
    prefix: paths.nginx,
    pidFile: paths.nginxPid,
    accessLog: paths.accessLog,
    errorLog: paths.errorLog,
    port: state.settings.port,
    upstreams,
    appKeepAliveMs: Number(state.appEnv['HF_HTTP_KEEP_ALIVE_TIMEOUT_MS'] || 5000),
    user: nginxUser(),
    // `--vip`: the pair's nginx, in their namespaces, reach this one on the front network.
    extraListen: state.vip ? [state.vip.network.clientAddress] : [],
    ...(state.canary
      ? {
          canary: {
            upstreams: state.canary.apps.map((a) => ({ port: a.port })),
            sharePct: state.canary.sharePct,
            splitLog: paths.splitLog,
          },
        }
      : {}),
  })
  await mkdir(`${paths.nginx}/temp`, { recursive: true })
  const before = await readFile(paths.nginxConf, 'utf8').catch(() => '')
  if (before === text) return false
  await writeFile(paths.nginxConf, text)
  return true
}

/** Workers drop to `nobody` when nginx starts as root; as another user there is nothing to drop. */
function nginxUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined
  const groups = existsSync('/etc/group') ? readFileSync('/etc/group', 'utf8') : ''
  if (/^nogroup:/m.test(groups)) return 'nobody nogroup' // Debian
  return /^nobody:/m.test(groups) ? 'nobody nobody' : undefined
}

function nginxArgs(state: StackState): string[] {
  const paths = stackPaths(state.dir)
  return ['-c', paths.nginxConf, '-p', `${paths.nginx}/`, '-e', paths.errorLog]
}

/** `nginx -t` on the stack's configuration: a bad one never reaches the running master. */
export async function testNginxConf(state: StackState): Promise<void> {
  await run(binaries.nginx, ['-t', '-q', ...nginxArgs(state)], { log: stackPaths(state.dir).errorLog })
}

/** Adopts an nginx master already running on the stack's configuration (its pid file). */
export async function adoptNginx(state: StackState): Promise<boolean> {
  const record = state.nginx
  if (isRunning(record)) return true
  const pid = Number((await readFile(stackPaths(state.dir).nginxPid, 'utf8').catch(() => '')).trim())
  if (!Number.isInteger(pid) || pid <= 0) return false
  record.pid = pid
  record.startTime = procInfo(pid)?.startTime
  if (isRunning(record)) return true
  record.pid = undefined
  record.startTime = undefined
  return false
}

/** nginx last: `nginx -t`, then start (or, when it runs and the set of apps changed, a graceful reload). */
export async function ensureNginx(ctx: UpContext): Promise<void> {
  const { state } = ctx
  const record = state.nginx
  const changed = await writeNginxConf(state)
  await testNginxConf(state)
  if (await adoptNginx(state)) {
    if (changed) await reloadNginx(state)
    await waitHealthy(record, frontProbe(state), ctx.options.healthTimeoutMs)
    ctx.note(record, changed ? 'reloaded' : 'reused')
    return
  }
  await assertPortsFree([{ port: record.port, component: record.name }])
  await run(binaries.nginx, nginxArgs(state), { log: stackPaths(state.dir).errorLog })
  await adoptNginx(state)
  await ctx.save()
  await waitHealthy(record, frontProbe(state), ctx.options.healthTimeoutMs)
  // The daemonised master writes its pid file after the starting parent exits: read it again once
  // nginx answers, or stack.json would not know its PID and `down` would leave it running.
  if (!isRunning(record) && (await adoptNginx(state))) await ctx.save()
  ctx.note(record, 'started')
}

/** nginx answers, and through it an app's `/readyz`. */
export function frontProbe(state: StackState) {
  const own = httpProbe(`${state.frontUrl}/nginx-health`)
  const through = httpProbe(`${state.frontUrl}/readyz`)
  return async (signal: AbortSignal) => {
    const first = await own(signal)
    return first.ok ? through(signal) : first
  }
}

/**
 * `nginx -t`, then SIGHUP to the master, then waits until every worker of the old configuration has
 * finished its requests and exited: from then on no request reaches an app left out of the upstream.
 */
export async function reloadNginx(state: StackState, timeoutMs = 15_000): Promise<void> {
  const record = state.nginx
  await testNginxConf(state)
  if (!isRunning(record)) {
    throw new StackError('E_NOT_RUNNING', `nginx is not running (pid ${record.pid ?? 'none'})`, {
      component: record.name,
      dir: state.dir,
    })
  }
  const master = record.pid!
  const old = childrenOf(master)
  process.kill(master, 'SIGHUP')
  const deadline = Date.now() + timeoutMs
  for (const worker of old) {
    if (!(await waitForExit(worker, Math.max(0, deadline - Date.now())))) {
      throw new StackError(
        'E_COMMAND_FAILED',
        `nginx did not take the new configuration within ${timeoutMs} ms (old worker ${worker} still runs): see ${stackPaths(state.dir).errorLog}`,
        { component: record.name, log: stackPaths(state.dir).errorLog, command: 'nginx -s reload' },
      )
    }
  }
}

/** Stops nginx gracefully (SIGQUIT: requests in flight finish), then harder after a bound. */
export async function stopNginx(record: ProcessRecord): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isRunning(record)) {
    record.pid = undefined
    record.startTime = undefined
    return 'not-running'
  }
  const master = record.pid!
  const workers = childrenOf(master).flatMap((pid) => procInfo(pid) ?? [])
  process.kill(master, 'SIGQUIT')
  let outcome: 'stopped' | 'killed' = 'stopped'
  if (!(await waitForExit(master, 12_000))) {
    if (isRunning(record)) process.kill(master, 'SIGTERM')
    if (!(await waitForExit(master, 3000)) && isRunning(record)) process.kill(master, 'SIGKILL')
    outcome = 'killed'
  }
  // Workers of a master that was killed would linger: they are ours too.
  for (const worker of workers) {
    const info = procInfo(worker.pid)
    if (info?.startTime === worker.startTime && info.cmdline.startsWith('nginx:'))
      process.kill(worker.pid, 'SIGKILL')
  }
  record.pid = undefined
  record.startTime = undefined
  return outcome
}
