import { existsSync } from 'node:fs'
import { StackError } from '../errors.js'
import { type FrontLayout, frontLayout, frontNamespaces } from './front-layout.js'
import type { FrontNetwork } from './front-network.js'
import { type FrontNetworkOptions, frontDefaults, resolveFrontOptions } from './front-options.js'
import { type IpCall, ip, netnsExists, rootLinkExists } from './ip-command.js'
import { chooseSubnet, routedNetworks } from './pick-subnet.js'

const sysctlBin = ['/usr/sbin/sysctl', '/sbin/sysctl'].find(existsSync) ?? 'sysctl'

/**
 * Makes a front network on this machine and nothing outside it: namespaces `hf<id>-lb1` and
 * `hf<id>-lb2`, each with `eth0` (a veth) into bridge `br0` in namespace `hf<id>-br`, and the root
 * namespace's own veth `hf<id>-c` into that bridge, addressed `.1`, so a process here reaches the
 * VIP. The subnet is checked against every route of the root namespace first. Needs root. A
 * failure or an abort deletes what was made and rejects.
 *
 * @example
 * await using network = await createFrontNetwork({}, { signal: AbortSignal.timeout(10_000) })
 * console.log(network.vip, network.nodes.map((n) => `${n.namespace} ${n.address}`))
 */
export async function createFrontNetwork(
  options: FrontNetworkOptions = {},
  { signal }: { signal?: AbortSignal } = {},
): Promise<FrontNetwork> {
  const resolved = resolveFrontOptions(options)
  if (process.getuid?.() !== 0) {
    throw new StackError('E_PERMISSION', 'createFrontNetwork makes network namespaces: run it as root')
  }
  const call: IpCall = { timeoutMs: resolved.commandTimeoutMs, signal }
  const subnet = chooseSubnet(await routedNetworks(call), resolved.id, resolved.subnet)
  const layout = frontLayout(resolved.id, subnet.base)
  const taken = existing(layout)
  if (taken.length > 0) {
    throw new StackError(
      'E_INVALID_OPTION',
      `options.id '${resolved.id}' is in use: ${taken.join(', ')} exist (another front network, or one not destroyed)`,
      { option: 'options.id' },
    )
  }
  const teardown = () => destroyFrontNetwork(layout, resolved.commandTimeoutMs)
  try {
    await build(layout, call)
  } catch (err) {
    await teardown()
    throw err
  }
  resolved.log(
    `front network ${layout.subnet}: client ${layout.clientAddress} (${layout.clientInterface}), ` +
      `${layout.nodes.map((n) => `${n.name} ${n.address} (${n.namespace})`).join(', ')}, VIP ${layout.vip}`,
  )
  return {
    ...layout,
    namespaces: frontNamespaces(layout),
    destroy: teardown,
    [Symbol.asyncDispose]: teardown,
  }
}

async function build(layout: FrontLayout, call: IpCall): Promise<void> {
  const run = (...args: string[]) => ip(args, call)
  const br = layout.bridgeNamespace
  for (const ns of frontNamespaces(layout)) {
    await run('netns', 'add', ns)
    await run('-n', ns, 'link', 'set', 'lo', 'up')
  }
  // STP stays off (the default): ports forward at once, and a two-port test bridge has no loops.
  await run('-n', br, 'link', 'add', layout.bridge, 'type', 'bridge')
  await run('-n', br, 'link', 'set', layout.bridge, 'up')
  const cidr = (address: string) => `${address}/${layout.prefixLength}`
  for (const node of layout.nodes) {
    await run(
      '-n',
      br,
      'link',
      'add',
      node.name,
      'type',
      'veth',
      'peer',
      'name',
      node.interface,
      'netns',
      node.namespace,
    )
    await run('-n', br, 'link', 'set', node.name, 'master', layout.bridge, 'up')
    await run('-n', node.namespace, 'addr', 'add', cidr(node.address), 'dev', node.interface)
    await run('-n', node.namespace, 'link', 'set', node.interface, 'up')
    // A server may listen on the VIP before this node holds it (nginx on both nodes does).
    await run('netns', 'exec', node.namespace, sysctlBin, '-qw', 'net.ipv4.ip_nonlocal_bind=1')
  }
  await run(
    'link',
    'add',
    layout.clientInterface,
    'type',
    'veth',
    'peer',
    'name',
    layout.clientPort,
    'netns',
    br,
  )
  await run('-n', br, 'link', 'set', layout.clientPort, 'master', layout.bridge, 'up')
  await run('addr', 'add', cidr(layout.clientAddress), 'dev', layout.clientInterface)
  await run('link', 'set', layout.clientInterface, 'up')
}

/**
 * Deletes the client's veth, each node's veth, then the namespaces; whatever is already gone is
 * skipped, so it is idempotent: what `destroy()` does, by the names of a recorded layout (`npm run
 * stack -- down`). Links are deleted explicitly: a namespace a process still runs in
 * outlives `ip netns del`, and its links with it.
 */
export async function destroyFrontNetwork(
  layout: FrontLayout,
  timeoutMs: number = frontDefaults.commandTimeoutMs,
): Promise<void> {
  const call: IpCall = { timeoutMs }
  const attempt = (args: string[]) =>
    ip(args, call).then(
      () => undefined,
      (err: unknown) => err,
    )
  const failures: unknown[] = []
  if (rootLinkExists(layout.clientInterface))
    failures.push(await attempt(['link', 'del', layout.clientInterface]))
  for (const node of layout.nodes) {
    if (!netnsExists(node.namespace)) continue
    await attempt(['-n', node.namespace, 'link', 'del', node.interface]) // gone already when the bridge went first
    failures.push(await attempt(['netns', 'del', node.namespace]))
  }
  if (netnsExists(layout.bridgeNamespace))
    failures.push(await attempt(['netns', 'del', layout.bridgeNamespace]))
  const left = existing(layout)
  if (left.length > 0) {
    throw new StackError(
      'E_COMMAND_FAILED',
      `could not delete ${left.join(', ')}`,
      {
        command: 'ip netns del',
      },
      { cause: failures.find((f) => f !== undefined) },
    )
  }
}

/** The namespaces and the root-namespace link of `layout` that exist now. */
function existing(layout: FrontLayout): string[] {
  const link = rootLinkExists(layout.clientInterface) ? [layout.clientInterface] : []
  return [...frontNamespaces(layout).filter(netnsExists), ...link]
}
