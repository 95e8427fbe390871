import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { StackError } from '../errors.js'
import { formatCidr, parseCidr } from '../vip/cidr.js'
import { type IpCall, ip, ipJson, netnsExists, rootLinkExists } from '../vip/ip-command.js'
import { routedNetworks } from '../vip/pick-subnet.js'
import {
  chooseReplicaSubnet,
  guardRouteMetric,
  isReplicaNetName,
  type ReplicaNetLayout,
  replicaNetLayout,
  replicaNetPool,
} from './replica-net-layout.js'

/** A network namespace with one veth to the root namespace: a replica's own "machine" and its cable. */
export interface ReplicaNetwork extends ReplicaNetLayout {
  /** `ip link set <hostInterface> down`: nothing crosses; open connections hang (no RST, no FIN). */
  cut(options?: { signal?: AbortSignal }): Promise<void>
  /** `ip link set <hostInterface> up`: the link is back, with its addresses and routes. */
  restore(options?: { signal?: AbortSignal }): Promise<void>
  /** Deletes the veth, the guard route and the namespace; idempotent. Stop what runs in it first. */
  destroy(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link createReplicaNetwork}. */
export interface ReplicaNetworkOptions {
  /** Names everything: `hfp<id>-ns`, `hfp<id>-h`. 1–8 of `[a-z0-9]`. @default 6 random hex digits */
  id?: string
  /** Bound on each `ip` command. @default 10000 */
  commandTimeoutMs?: number
  signal?: AbortSignal
}

/**
 * Makes namespace `hfp<id>-ns` with `eth0`, a veth whose other end `hfp<id>-h` stays in the root
 * namespace, on a private /30 no route overlaps (host `.1`, replica `.2`). A blackhole route for the
 * /30 at metric {@link guardRouteMetric} keeps its packets on this machine while the link is down
 * (the kernel drops the link's own route then, and they would follow the default route out):
 * segments of an open connection are dropped, so it hangs as behind a pulled cable; a new connection
 * fails at once (`EINVAL`). Needs root. A failure or an abort deletes what was made.
 *
 * @example
 * await using net = await createReplicaNetwork({ signal })
 * await net.cut(); await net.restore()
 */
export async function createReplicaNetwork(options: ReplicaNetworkOptions = {}): Promise<ReplicaNetwork> {
  if (process.getuid?.() !== 0) {
    throw new StackError('E_PERMISSION', 'createReplicaNetwork makes a network namespace: run it as root')
  }
  const id = options.id ?? randomBytes(3).toString('hex')
  if (!/^[a-z0-9]{1,8}$/.test(id)) {
    throw new StackError('E_INVALID_OPTION', `options.id must be 1–8 of [a-z0-9], got '${id}'`, {
      option: 'options.id',
    })
  }
  const timeoutMs = options.commandTimeoutMs ?? 10_000
  const call: IpCall = { timeoutMs, signal: options.signal }
  const subnet = chooseReplicaSubnet(await routedNetworks(call), id)
  const layout = replicaNetLayout(id, subnet.base)
  if (netnsExists(layout.namespace) || rootLinkExists(layout.hostInterface)) {
    throw new StackError('E_INVALID_OPTION', `options.id '${id}' is in use: ${layout.namespace} exists`, {
      option: 'options.id',
    })
  }
  const destroy = () => destroyReplicaNetwork(layout, timeoutMs)
  const run = (...args: string[]) => ip(args, call)
  try {
    await run('netns', 'add', layout.namespace)
    await run('-n', layout.namespace, 'link', 'set', 'lo', 'up')
    await run(
      'link',
      'add',
      layout.hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      layout.namespaceInterface,
      'netns',
      layout.namespace,
    )
    await run('addr', 'add', `${layout.hostAddress}/30`, 'dev', layout.hostInterface)
    await run(
      '-n',
      layout.namespace,
      'addr',
      'add',
      `${layout.replicaAddress}/30`,
      'dev',
      layout.namespaceInterface,
    )
    await run('route', 'add', 'blackhole', layout.subnet, 'metric', String(guardRouteMetric))
    await run('link', 'set', layout.hostInterface, 'up')
    await run('-n', layout.namespace, 'link', 'set', layout.namespaceInterface, 'up')
  } catch (err) {
    await destroy().catch(() => {})
    throw err
  }
  const setLink = (state: 'up' | 'down', signal?: AbortSignal) =>
    ip(['link', 'set', layout.hostInterface, state], { timeoutMs, signal }).then(() => {})
  return {
    ...layout,
    cut: (o = {}) => setLink('down', o.signal),
    restore: (o = {}) => setLink('up', o.signal),
    destroy,
    [Symbol.asyncDispose]: destroy,
  }
}

/** Deletes the host veth (its peer goes with it), the guard route and the namespace; whatever is gone is skipped. */
async function destroyReplicaNetwork(layout: ReplicaNetLayout, timeoutMs: number): Promise<void> {
  const call: IpCall = { timeoutMs }
  const attempt = (args: string[]) =>
    ip(args, call).then(
      () => undefined,
      (err: unknown) => err,
    )
  const failures: unknown[] = []
  if (rootLinkExists(layout.hostInterface))
    failures.push(await attempt(['link', 'del', layout.hostInterface]))
  await attempt(['route', 'del', 'blackhole', layout.subnet, 'metric', String(guardRouteMetric)])
  if (netnsExists(layout.namespace)) failures.push(await attempt(['netns', 'del', layout.namespace]))
  if (netnsExists(layout.namespace) || rootLinkExists(layout.hostInterface)) {
    throw new StackError(
      'E_COMMAND_FAILED',
      `could not delete ${layout.namespace} / ${layout.hostInterface}`,
      { command: 'ip netns del' },
      { cause: failures.find((f) => f !== undefined) },
    )
  }
}

/**
 * Removes what an earlier run left behind: every `hfp<id>-h` link, blackhole route of
 * {@link replicaNetPool} at {@link guardRouteMetric}, and `hfp<id>-ns` namespace — after signalling
 * (SIGKILL) the processes still in such a namespace, which only this module starts. Returns the names
 * it removed.
 */
export async function removeLeftoverReplicaNetworks(
  options: { commandTimeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const call: IpCall = { timeoutMs: options.commandTimeoutMs ?? 10_000, signal: options.signal }
  const removed: string[] = []
  const links = await readdir('/sys/class/net')
  for (const link of links.filter((name) => isReplicaNetName(name) && name.endsWith('-h'))) {
    await ip(['link', 'del', link], call).catch(() => {})
    removed.push(link)
  }
  const pool = parseCidr(replicaNetPool)!
  const routes = await ipJson<Array<{ type?: string; dst?: string; metric?: number }>>(
    ['-4', 'route', 'show', 'type', 'blackhole'],
    call,
  )
  for (const route of routes) {
    const network = route.dst ? parseCidr(route.dst) : undefined
    if (!network || route.metric !== guardRouteMetric || network.bits !== 30) continue
    if ((network.base & 0xffff0000) >>> 0 !== pool.base) continue
    await ip(
      ['route', 'del', 'blackhole', formatCidr(network), 'metric', String(guardRouteMetric)],
      call,
    ).catch(() => {})
    removed.push(`blackhole ${formatCidr(network)}`)
  }
  const namespaces = await readdir('/run/netns').catch(() => [] as string[])
  for (const ns of namespaces.filter((name) => isReplicaNetName(name) && name.endsWith('-ns'))) {
    const pids = (await ip(['netns', 'pids', ns], call).catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0)
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    await ip(['netns', 'del', ns], call).catch(() => {})
    removed.push(ns)
  }
  return removed
}
