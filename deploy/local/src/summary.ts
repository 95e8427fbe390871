import { relative } from 'node:path'
import { defaultAppLogLevel } from './apps.js'
import type { Outcome } from './context.js'
import type { StackDownResult } from './down.js'
import { vipIsUp } from './stack-vip.js'
import { allProcesses, natsNodes, type StackState } from './state.js'
import type { StackStatus } from './status.js'

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

const commands = [
  '  status:  npm run stack -- status',
  '  release: npm run stack -- restart apps   (a gray release: npm run stack -- canary <build dir> --share 1%)',
  '  stop:    npm run stack -- down   (data kept; --purge removes it)',
].join('\n')

/** What `up` prints: the front URL first, then every process with its PID, port, URL and log. */
export function formatUpSummary(
  state: StackState,
  outcomes: ReadonlyMap<string, Outcome>,
  elapsedMs: number,
): string {
  const rows = allProcesses(state).map((r) => [
    r.name,
    String(r.pid ?? '-'),
    String(r.port),
    r.url,
    outcomes.get(r.name) ?? '-',
    relative(state.dir, r.log),
  ])
  const monitors = natsNodes(state).map((r) => `http://127.0.0.1:${r.monitorPort}`)
  const nats =
    monitors.length > 1
      ? `NATS JetStream cluster of ${monitors.length} (streams at R${monitors.length}), monitors ${monitors.join(' ')}`
      : `NATS monitor ${monitors[0]}`
  return [
    `stack up in ${(elapsedMs / 1000).toFixed(1)} s: ${state.vip ? `${state.vip.url} (the VIP; nginx on ${state.frontUrl})` : state.frontUrl}`,
    '',
    table(['process', 'pid', 'port', 'url', 'this run', 'log'], rows),
    '',
    `  data and logs under ${state.dir} (state: stack.json; nginx: nginx/nginx.conf, logs/nginx-access.log)`,
    `  apps: ${state.apps.length} behind nginx, ${state.consumers.length} consumer(s); ${nats}`,
    ...(state.patroni ? [patroniLine(state)] : []),
    ...(state.vip ? [vipLine(state)] : []),
    settingsLine(state),
    '',
    commands,
  ].join('\n')
}

function patroniLine(state: StackState): string {
  const patroni = state.patroni!
  const rest = patroni.members[0]?.monitorPort
  return `  PostgreSQL under Patroni (${patroni.members.length} members, ${patroni.etcd.length} etcd; synchronous standby: ${patroni.synchronous ? 'on' : 'off'}): roles in http://127.0.0.1:${rest}/cluster; the apps find the primary themselves (HF_DATABASE_HOSTS)`
}

function vipLine(state: StackState): string {
  const vip = state.vip!
  const pids = vip.nodes.map(
    (n, i) => `lb${i + 1} nginx ${n.nginx.pid ?? '-'} keepalived ${n.keepalived.pid ?? '-'}`,
  )
  return `  VIP ${vip.url}: clients use it (${vipIsUp(vip) ? 'up' : 'NOT WHOLE'}); keepalived moves it between two nginx in namespaces ${vip.network.nodes.map((n) => n.namespace).join(', ')} (${pids.join('; ')}), both passing to nginx on ${vip.network.clientAddress}:${state.settings.port}; files under ${relative(state.dir, vip.dir)}/`
}

function settingsLine(state: StackState): string {
  const env = Object.entries({ HF_LOG_LEVEL: defaultAppLogLevel, ...state.appEnv }).map(
    ([k, v]) => `${k}=${v}`,
  )
  return `  app settings: HF_NAMESPACE=${state.namespace} HF_DRAIN_MS=${state.settings.drainMs}${env.length ? ` ${env.join(' ')}` : ''}`
}

/** What `status` prints. */
export function formatStatus(status: StackStatus): string {
  const { state } = status
  const rows = status.processes.map((p) => [
    p.name,
    String(p.pid ?? '-'),
    String(p.port),
    p.url,
    p.healthy ? 'healthy' : p.running ? `UNHEALTHY: ${p.detail ?? ''}` : 'NOT RUNNING',
    relative(state.dir, p.log),
  ])
  const bad = status.processes.filter((p) => !p.healthy).length
  const running = status.processes.filter((p) => p.running).length
  const verdict = status.healthy
    ? 'all healthy'
    : running === 0
      ? 'down (npm run stack starts it)'
      : `${bad} of ${status.processes.length} not healthy`
  return [
    `${state.frontUrl}: ${verdict} (${state.dir})`,
    '',
    table(['process', 'pid', 'port', 'url', 'health', 'log'], rows),
    '',
    ...(state.canary ? [canaryLine(state)] : []),
    ...(state.vip ? [vipLine(state)] : []),
    ...(state.microblogBuild ? [`  microblog build: ${state.microblogBuild} (a promoted canary's)`] : []),
    settingsLine(state),
  ].join('\n')
}

function canaryLine(state: StackState): string {
  const canary = state.canary!
  return `  canary ${canary.id}: ${canary.build} takes ${canary.sharePct}% of requests (rollout run by pid ${canary.controller.pid}; npm run stack -- canary --abort rolls it back)`
}

/** What `down` prints. */
export function formatDown(result: StackDownResult): string {
  if (!result.found) return `no stack in ${result.dir}: nothing to stop`
  const stopped = result.stopped.filter((s) => s.outcome !== 'not-running')
  const lines = stopped.map((s) => `  ${s.name} (pid ${s.pid}): ${s.outcome}`)
  return [
    `stack in ${result.dir} down: ${stopped.length} process(es) stopped${result.purged ? ', data removed' : ', data kept'}`,
    ...lines,
  ].join('\n')
}
