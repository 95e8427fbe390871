import { connect, createServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { StackState } from '@hundredfold/stack'
import { createFrontNetwork, type FrontNetwork, startVipPair, type VipPair } from '@hundredfold/stack/vip'
import { type DrillFront, stackDrill } from './stack-drill.js'

/** How long the drill waits for the other node to answer on the VIP. */
const MOVE_TIMEOUT_MS = 15_000

/** The VIP pair in front of the stack, and what it took to put it there. */
interface VipFront extends DrillFront {
  readonly pair: VipPair
}

/**
 * `npm run drill -- kill-vip-holder`: a floating address in front of the stack — two nginx in two
 * network namespaces this drill makes, keepalived (VRRPv3) holding a VIP between them, both passing to
 * the stack's nginx (through a TCP relay on the root namespace's address on their bridge: the stack
 * listens on loopback) — and the mix sent to the VIP. `kill -9` of the holder's nginx; keepalived's
 * check fails and the other node takes the VIP. Floor: `vip_moved_s` ≤ 3 (from the kill to the first
 * answer from the other node on the VIP). Needs root (`ip netns`) and keepalived.
 */
export const killVipHolder = stackDrill<VipFront>({
  name: 'kill-vip-holder',
  description:
    'kill -9 of the nginx holding the VIP (keepalived, two network namespaces) in front of the stack, under the mix at half its MST',
  async front(stack, signal, log) {
    return openVipFront(stack.state, signal, log)
  },
  async action(_stack, signal, log, front) {
    if (!front) throw new Error('kill-vip-holder runs behind its VIP front')
    const { pair } = front
    const holder = await pair.holder({ signal })
    if (!holder) throw new Error('no node holds the VIP')
    const other = pair.nodes.find((node) => node.name !== holder.name)!
    const killedAt = performance.now()
    const pids = await pair.killNginx(holder.name, { signal })
    log(`killed ${holder.name}'s nginx (pids ${pids.join(', ')}); waiting for ${other.name} on ${pair.url}`)
    const movedS = await waitForAnswerFrom(pair.url, other.name, killedAt, signal)
    const now = await pair.holder({ signal })
    log(
      `${other.name} answered on the VIP after ${movedS} s; keepalived says ${now?.name ?? 'nobody'} holds it`,
    )
    return {
      vip_moved_s: movedS,
      vip_killed_node: holder.name,
      vip_holder_after: now?.name ?? null,
    }
  },
  floors: { vip_moved_s: { max: 3 } },
  metrics: () => ({}),
})

async function openVipFront(
  state: StackState,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<VipFront> {
  const network: FrontNetwork = await createFrontNetwork({}, { signal })
  let relay: Server | undefined
  let pair: VipPair | undefined
  const close = async () => {
    await pair?.stop()
    await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()))
    await network.destroy()
  }
  try {
    const front = new URL(state.frontUrl)
    relay = await tcpRelay(network.clientAddress, front.hostname, Number(front.port))
    const relayUrl = `http://${network.clientAddress}:${(relay.address() as { port: number }).port}`
    pair = await startVipPair(network, { backends: [relayUrl], signal })
    await pair.waitForHolder('lb1', { signal })
    log(`VIP ${pair.url} held by lb1 (lb2 standing by), both passing to ${state.frontUrl} via ${relayUrl}`)
    return { url: pair.url, pair, [Symbol.asyncDispose]: close }
  } catch (error) {
    await close().catch(() => {})
    throw error
  }
}

/** A TCP relay on `host`: each connection piped to `toHost:toPort` (no parsing: bytes both ways). */
async function tcpRelay(host: string, toHost: string, toPort: number): Promise<Server> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(toPort, toHost)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  const close = server.close.bind(server)
  server.close = (callback) => {
    for (const s of sockets) s.destroy()
    return close(callback)
  }
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  return server
}

/** Polls `url/whoami` every 20 ms until `name` answers; seconds from `since`. */
async function waitForAnswerFrom(
  url: string,
  name: string,
  since: number,
  signal: AbortSignal,
): Promise<number> {
  while (performance.now() - since < MOVE_TIMEOUT_MS) {
    const body = await fetch(`${url}/whoami`, { signal: AbortSignal.any([signal, AbortSignal.timeout(300)]) })
      .then((res) => res.text())
      .catch(() => undefined)
    if (body?.trim() === name) return Math.round((performance.now() - since) / 10) / 100
    await sleep(20, undefined, { signal })
  }
  throw new Error(`${name} did not answer on ${url} within ${MOVE_TIMEOUT_MS / 1000} s`)
}
