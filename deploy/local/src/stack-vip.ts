import { createHash } from 'node:crypto'
import type { UpContext } from './context.js'
import { StackError } from './errors.js'
import { isAlive } from './ha/ha-process.js'
import { stackPaths } from './layout.js'
import { reloadNginx, writeNginxConf } from './nginx.js'
import { isRunning } from './processes.js'
import type { StackState, VipState } from './state.js'
import { createFrontNetwork, destroyFrontNetwork } from './vip/create-front-network.js'
import { frontLayout } from './vip/front-layout.js'
import { netnsExists, rootLinkExists } from './vip/ip-command.js'
import { type NodeProcesses, stopNodeProcesses } from './vip/node-processes.js'
import { startVipPair } from './vip/start-vip-pair.js'
import { requireVipBinaries, resolveVipPairOptions, vipPairDefaults } from './vip/vip-pair-options.js'

/**
 * The front network's id of the stack in `dir`: the same directory always names the same
 * namespaces (`hf<id>-lb1`, `hf<id>-lb2`, `hf<id>-br`) and link (`hf<id>-c`), so leftovers of a
 * crashed `up` are found and deleted by name even when `stack.json` never recorded them.
 */
export function stackVipId(dir: string): string {
  return `s${createHash('sha256').update(dir).digest('hex').slice(0, 7)}`
}

/** Whether the recorded VIP pair is whole: its namespaces and link exist and all four processes run. */
export function vipIsUp(vip: VipState): boolean {
  const { network } = vip
  const spaces = [...network.nodes.map((n) => n.namespace), network.bridgeNamespace]
  return (
    spaces.every(netnsExists) &&
    rootLinkExists(network.clientInterface) &&
    vip.nodes.length === 2 &&
    vip.nodes.every((n) => isAlive(n.nginx) && isAlive(n.keepalived))
  )
}

/**
 * Before nginx: a recorded VIP pair that is not whole, or not wanted any more (`HF_STACK_VIP=off`),
 * is stopped and its network deleted, so nginx's configuration never names an address that is gone.
 * Leftovers of this stack's id (a crashed `up`) go too. A whole, wanted pair is left as it is.
 */
export async function checkVip(ctx: UpContext): Promise<void> {
  const { state, options } = ctx
  if (options.vip) {
    // Before anything starts: the pair needs network namespaces, keepalived and curl.
    if (process.getuid?.() !== 0) {
      throw new StackError('E_PERMISSION', '--vip makes network namespaces: run the stack as root', {
        option: '--vip',
      })
    }
    requireVipBinaries(resolveVipPairOptions())
  }
  if (state.vip && options.vip && vipIsUp(state.vip)) return
  if (state.vip) {
    options.log(`VIP ${state.vip.url}: ${options.vip ? 'not whole, made afresh' : 'no longer wanted'}`)
  }
  await removeVip(state, options.log)
  await ctx.save()
}

/**
 * After nginx, with `--vip`: the front network (`createFrontNetwork`, named by {@link stackVipId}),
 * nginx also listening on its client address, then the VIP pair (`startVipPair`) passing there.
 * Reused when {@link checkVip} kept it; `stack.json` records each part as soon as it exists.
 */
export async function ensureVip(
  ctx: UpContext,
  signal?: AbortSignal,
): Promise<'started' | 'reused' | undefined> {
  const { state, options } = ctx
  if (!options.vip) return undefined
  if (state.vip) {
    options.log(`VIP ${state.vip.url}: reused`)
    return 'reused'
  }
  const dir = stackPaths(state.dir).vip
  const network = await createFrontNetwork({ id: stackVipId(state.dir), log: options.log }, { signal })
  const port = state.settings.port
  state.vip = { url: `http://${network.vip}:${port}`, network: layoutOf(network), dir, nodes: [] }
  try {
    await ctx.save()
    await writeNginxConf(state)
    await reloadNginx(state)
    const pair = await startVipPair(network, {
      backends: [`http://${network.clientAddress}:${port}`],
      port,
      dir,
      log: options.log,
      ...(signal ? { signal } : {}),
    })
    state.vip = { ...state.vip, nodes: pair.processes }
    await ctx.save()
  } catch (err) {
    await removeVip(state, options.log).catch(() => {})
    await ctx.save().catch(() => {})
    throw err
  }
  options.log(`VIP ${state.vip.url}: started, in front of ${state.frontUrl}`)
  return 'started'
}

/**
 * Stops the recorded VIP pair (keepalived, then nginx, by PID), takes the client address out of
 * nginx's configuration (reloading it if it runs), deletes the front network by its recorded names
 * and by this stack's id, and forgets it in `state`. Idempotent; `stack.json` is the caller's to write.
 */
export async function removeVip(state: StackState, log: (line: string) => void): Promise<void> {
  const vip = state.vip
  if (vip) {
    await Promise.all(
      vip.nodes.map((n: NodeProcesses) => stopNodeProcesses(n, vipPairDefaults.stopTimeoutMs)),
    )
  }
  state.vip = undefined
  if (vip && isRunning(state.nginx) && (await writeNginxConf(state))) await reloadNginx(state)
  if (vip) await destroyFrontNetwork(vip.network)
  // A crashed `up` may have made the network before `stack.json` said so: same names, same id.
  const leftover = frontLayout(stackVipId(state.dir), 0)
  await destroyFrontNetwork(leftover)
  if (vip)
    log(
      `VIP ${vip.url}: stopped, namespaces ${vip.network.nodes.map((n) => n.namespace).join(', ')}, ${vip.network.bridgeNamespace} and link ${vip.network.clientInterface} deleted`,
    )
}

/** The plain layout of a front network, for `stack.json`. */
function layoutOf(network: VipState['network']): VipState['network'] {
  const {
    id,
    subnet,
    prefixLength,
    bridgeNamespace,
    bridge,
    clientInterface,
    clientPort,
    clientAddress,
    vip,
    nodes,
  } = network
  return {
    id,
    subnet,
    prefixLength,
    bridgeNamespace,
    bridge,
    clientInterface,
    clientPort,
    clientAddress,
    vip,
    nodes,
  }
}
