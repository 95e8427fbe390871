import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { allOrNone } from '../all-or-none.js'
import { StackError } from '../errors.js'
import { spawnHaProcess } from '../ha/ha-process.js'
import { waitUntil } from '../ha/wait-until.js'
import { httpProbe } from '../health.js'
import type { FrontNetwork } from './front-network.js'
import { ip, ipBin, netnsExists } from './ip-command.js'
import { renderKeepalivedConf } from './keepalived-conf.js'
import { adoptChildren, type NodeProcesses, nodeProcesses, waitForExec } from './node-processes.js'
import { renderVipNginxConf } from './vip-nginx-conf.js'
import { stopVipPair, type VipPair, vipPairHandle } from './vip-pair.js'
import { type VipPairNode, vipPairLayout } from './vip-pair-layout.js'
import {
  type ResolvedVipPairOptions,
  requireVipBinaries,
  resolveVipPairOptions,
  type VipPairOptions,
} from './vip-pair-options.js'

/**
 * Starts, in each namespace of `network`, an nginx listening on the VIP and on the node's own
 * address, then a keepalived (foreground, its own config and pid files) that holds the VIP while
 * `curl` gets 200 from its nginx's `/healthz`. Resolves once both nginx answer and lb1 holds the
 * VIP. A process that does not come up within `startTimeoutMs` fails with `E_NOT_HEALTHY`, its
 * name and the tail of its log; everything started is then stopped, and a directory made here removed.
 *
 * @example
 * await using network = await createFrontNetwork({}, { signal })
 * await using pair = await startVipPair(network, { signal })
 * await pair.killNginx('lb1')
 * await pair.waitForHolder('lb2', { signal }) // about a second later
 */
export async function startVipPair(
  network: FrontNetwork,
  options: VipPairOptions & { signal?: AbortSignal } = {},
): Promise<VipPair> {
  const { signal, ...rest } = options
  const resolved = resolveVipPairOptions(rest)
  requireVipBinaries(resolved)
  for (const ns of network.namespaces) {
    if (!netnsExists(ns)) {
      const message = `namespace ${ns} does not exist: was the front network destroyed?`
      throw new StackError('E_NOT_RUNNING', message, { component: ns })
    }
  }
  signal?.throwIfAborted()
  const created = resolved.dir === undefined
  const path = created ? await mkdtemp(join(tmpdir(), 'hf-vip-')) : resolve(resolved.dir!)
  const dir = { path, created }
  const nodes = vipPairLayout(network, resolved.port, path)
  const procs = [nodeProcesses(nodes[0]), nodeProcesses(nodes[1])] as const
  const handle = vipPairHandle(network, resolved, dir, nodes, procs)
  try {
    await mkdir(path, { recursive: true })
    if (created) await chmod(path, 0o755) // mkdtemp's 0700: nginx's workers (nobody) keep temp files under it
    await allOrNone(
      nodes.map((node, i) => (s: AbortSignal) => startNginx(network, resolved, node, procs[i]!, s)),
      signal,
    )
    await allOrNone(
      nodes.map((node, i) => (s: AbortSignal) => startKeepalived(network, resolved, node, procs[i]!, s)),
      signal,
    )
    await handle.waitForHolder('lb1', { signal })
    for (const p of procs) adoptChildren(p.keepalived, p.keepalivedChildren)
  } catch (err) {
    await stopVipPair(procs, resolved, dir)
    signal?.throwIfAborted() // an abort rejects with the signal's reason, whichever wait noticed it
    throw err
  }
  resolved.log(`VIP ${network.vip} held by lb1; clients use ${handle.url}`)
  return handle
}

const env = () => ({ PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' })

async function startNginx(
  network: FrontNetwork,
  options: ResolvedVipPairOptions,
  node: VipPairNode,
  procs: NodeProcesses,
  signal: AbortSignal | undefined,
): Promise<void> {
  await mkdir(join(node.dir, 'temp'), { recursive: true })
  await writeFile(node.nginxLog, '', { flag: 'a' })
  const text = renderVipNginxConf({
    name: node.name,
    prefix: node.dir,
    pidFile: node.nginxPid,
    errorLog: node.nginxLog,
    listen: [network.vip, node.address],
    port: options.port,
    backends: options.backends,
    user: workerUser(),
  })
  await writeFile(node.nginxConf, text)
  const args = ['-c', node.nginxConf, '-p', `${node.dir}/`, '-e', node.nginxLog]
  await ip(['netns', 'exec', node.namespace, options.nginxBin, '-t', '-q', ...args], {
    timeoutMs: 10_000,
    signal,
  })
  // `ip netns exec` execs in place: the PID spawned is nginx's master.
  spawnHaProcess(procs.nginx, ipBin, ['netns', 'exec', node.namespace, options.nginxBin, ...args], {
    asPostgres: false,
    env: env(),
  })
  await waitForExec(procs.nginx, 'nginx: master process', 2000, signal)
  options.log(`${node.name} nginx started (pid ${procs.nginx.pid}) in ${node.namespace}, ${node.url}`)
  await waitUntil(
    { component: procs.nginx.name, name: procs.nginx.name, logs: [node.nginxLog], proc: procs.nginx },
    httpProbe(`${node.url}/healthz`),
    { timeoutMs: options.startTimeoutMs, signal, failure: 'did not answer' },
  )
  adoptChildren(procs.nginx, procs.workers)
}

async function startKeepalived(
  network: FrontNetwork,
  options: ResolvedVipPairOptions,
  node: VipPairNode,
  procs: NodeProcesses,
  signal: AbortSignal | undefined,
): Promise<void> {
  const index = network.nodes.findIndex((n) => n.name === node.name)
  const peers = network.nodes.filter((n) => n.name !== node.name).map((n) => n.address)
  const text = renderKeepalivedConf({
    name: node.name,
    interface: node.interface,
    address: node.address,
    peers,
    vip: network.vip,
    virtualRouterId: options.virtualRouterId,
    priority: options.priorities[index]!,
    advertIntS: options.advertIntS,
    check: {
      command: `${options.curlBin} -sf -m 0.8 -o /dev/null ${node.url}/healthz`,
      intervalS: options.checkIntervalS,
      timeoutS: 1,
    },
  })
  await writeFile(node.keepalivedConf, text)
  await writeFile(node.keepalivedLog, '', { flag: 'a' })
  const exec = ['netns', 'exec', node.namespace, options.keepalivedBin]
  await ip([...exec, '-t', '-f', node.keepalivedConf], { timeoutMs: 10_000, signal })
  // Foreground (-n), VRRP only (-P), logging to the console (-l, -D) and not to the system's syslog (-G).
  spawnHaProcess(
    procs.keepalived,
    ipBin,
    [
      ...exec,
      '-n',
      '-P',
      '-l',
      '-D',
      '-G',
      '-f',
      node.keepalivedConf,
      '-p',
      node.keepalivedPid,
      '-r',
      node.vrrpPid,
    ],
    { asPostgres: false, env: env() },
  )
  await waitForExec(procs.keepalived, options.keepalivedBin, 2000, signal)
  options.log(
    `${node.name} keepalived started (pid ${procs.keepalived.pid}), priority ${options.priorities[index]}`,
  )
}

/** Workers drop to `nobody` when nginx starts as root (as in ../nginx.ts); as another user there is nothing to drop. */
function workerUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined
  const groups = existsSync('/etc/group') ? readFileSync('/etc/group', 'utf8') : ''
  if (/^nogroup:/m.test(groups)) return 'nobody nogroup'
  return /^nobody:/m.test(groups) ? 'nobody nobody' : undefined
}
