import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { killProcess, natsNodes, type ProcessRecord } from '@hundredfold/stack'
import { stackDrill } from './stack-drill.js'

/** How long the killed node stays dead. */
const DEAD_FOR_MS = 10_000

/** One stream as a node's monitor (`/jsz?streams=true&config=true`) describes it. */
interface StreamDetail {
  name: string
  config?: { num_replicas?: number }
  cluster?: { leader?: string; replicas?: Array<{ name: string; current?: boolean }> }
}

/**
 * `npm run drill -- kill-nats-node`: on the `--ha` stack (three NATS servers in one JetStream cluster,
 * streams at R3), `kill -9` of the node leading the posts stream under the mix; the other two elect a
 * new leader and the apps' and consumers' clients reconnect to them. 10 s later the stack starts the
 * node again and it catches up. Floors: `failed_writes` = 0 (a compose is answered only once the
 * stream has it on a majority) and `acked_writes_lost` = 0.
 */
export const killNatsNode = stackDrill({
  name: 'kill-nats-node',
  description:
    'kill -9 of the NATS node leading the posts stream (3-node JetStream, R3) of the --ha stack under the mix at half its MST',
  ha: true,
  async action(stack, signal, log) {
    const nodes = natsNodes(stack.state)
    if (nodes.length < 3) throw new Error('the stack runs one NATS server: start it with --ha')
    const before = await postsStream(nodes, signal)
    const victim = nodes.find((node) => node.name === before?.cluster?.leader) ?? nodes[0]!
    const killedAt = performance.now()
    const pid = await killProcess(stack.state.dir, victim.name)
    log(`killed ${victim.name} (pid ${pid}), leader of ${before?.name ?? 'no stream found'}`)
    await sleep(DEAD_FOR_MS, undefined, { signal })
    const during = await postsStream(
      nodes.filter((node) => node !== victim),
      signal,
    )
    log(
      `${during?.name ?? 'the stream'} led by ${during?.cluster?.leader ?? 'nobody'}; starting ${victim.name} again`,
    )
    await stack.repair()
    const downS = (performance.now() - killedAt) / 1000
    return {
      nats_killed_node: victim.name,
      stream: before?.name ?? null,
      stream_replicas: before?.config?.num_replicas ?? null,
      stream_leader_after: during?.cluster?.leader ?? null,
      nats_down_s: Math.round(downS * 100) / 100,
    }
  },
  floors: { failed_writes: { max: 0 } },
  metrics: () => ({}),
})

/** The posts stream (`<namespace>_posts`, else the first stream) as the first of `nodes` that answers describes it. */
async function postsStream(
  nodes: readonly ProcessRecord[],
  signal: AbortSignal,
): Promise<StreamDetail | undefined> {
  for (const node of nodes) {
    const url = `http://127.0.0.1:${node.monitorPort}/jsz?streams=true&config=true`
    const body = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) })
      .then((res) =>
        res.ok
          ? (res.json() as Promise<{ account_details?: Array<{ stream_detail?: StreamDetail[] }> }>)
          : undefined,
      )
      .catch(() => undefined)
    const streams = (body?.account_details ?? []).flatMap((account) => account.stream_detail ?? [])
    const posts = streams.find((s) => s.name.endsWith('_posts')) ?? streams[0]
    if (posts) return posts
  }
  return undefined
}
