import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { patroniCluster, type StackState, setExtraDatabaseHosts } from '@hundredfold/stack'
import {
  createReplicaNetwork,
  type NetnsReplica,
  type ReplicaNetwork,
  removeLeftoverReplicaDirs,
  removeLeftoverReplicaNetworks,
  startNetnsReplica,
} from '@hundredfold/stack/netns'
import { type CounterSample, meanRate, sampleCounters, sumCounters } from './counter-sampler.js'
import { failed } from './drill-load.js'
import { type ProbeRead, probeReads } from './partition-probe.js'
import { type DrillFront, stackDrill } from './stack-drill.js'

/** How long the link stays down. */
const CUT_MS = 10_000
/** Readings before the cut: the baseline. */
const BEFORE_MS = 3_000
/** How long after the link is up the drill waits for every app to read from the replica again. */
const REJOIN_TIMEOUT_MS = 30_000
/** And then keeps reading, the replica back in rotation. */
const AFTER_MS = 3_000

/** The replica on its own "machine", added to the apps' hosts for the drill. */
interface PartitionFront extends DrillFront {
  readonly network: ReplicaNetwork
  readonly replica: NetnsReplica
  /** The replica's `microblog` database, as the apps' `HF_DATABASE_HOSTS` name it. */
  readonly hostUrl: string
  /** Its label in the apps' `/metrics`: `host:port/database`. */
  readonly label: string
}

/**
 * `npm run drill -- partition-replica`: one more streaming replica of the `--ha` stack's primary, on a
 * "machine" of its own — a network namespace this drill makes, one veth to this one on a private /30 —
 * added to the apps' `HF_DATABASE_HOSTS` (a rolling restart, before the load). Under the mix its link
 * is cut (`ip link set <veth> down` on this side) for 10 s, then restored. `@hundredfold/pg` takes it
 * out of read rotation when its probe times out, gives up the reads it had in flight there and sends
 * them elsewhere; once the link is up it catches up and rejoins. A probe cluster over the same hosts
 * reads every 20 ms throughout. Afterwards the apps are rolled back onto the Patroni members alone and
 * the replica, the namespace and the veth are removed. Needs root (`ip netns`).
 */
export const partitionReplica = stackDrill<PartitionFront>({
  name: 'partition-replica',
  description:
    'a PostgreSQL replica in a network namespace of its own cut off (link down) for 10 s under the mix at half its MST, then back',
  ha: true,
  front: (stack, signal, log) => openPartitionFront(stack.state, signal, log, () => stack.refresh()),
  async action(stack, signal, log, front) {
    if (!front) throw new Error('partition-replica runs with its replica in a namespace')
    const { network, label } = front
    const rotation = `db_replica_in_rotation{host="${label}"}`
    const reads = `db_queries_total{host="${label}",route="read"}`
    const urls = stack.state.apps.map((app) => `${app.url}/metrics`)
    const apps = Math.max(1, urls.length)
    const stop = new AbortController()
    const until = AbortSignal.any([signal, stop.signal])
    const samples = sampleCounters(urls, [rotation, reads], 100, until)
    const probe = probeReads([...(stack.state.databaseHosts ?? []), front.hostUrl], until)
    let cut = false
    try {
      await sleep(BEFORE_MS, undefined, { signal })
      const cutAt = performance.now()
      await network.cut({ signal })
      cut = true
      log(`cut ${network.hostInterface} (${network.replicaAddress} unreachable) for ${CUT_MS / 1000} s`)
      await sleep(CUT_MS, undefined, { signal })
      const upAt = performance.now()
      await network.restore({ signal })
      cut = false
      log(`${network.hostInterface} up again; waiting for the replica back in every app's rotation`)
      const rejoinedAt = await waitForRotation(urls, rotation, apps, REJOIN_TIMEOUT_MS, signal)
      await sleep(AFTER_MS, undefined, { signal })
      stop.abort()
      const all = await samples
      const seen = await probe
      return partitionFigures(all, seen, { rotation, reads, apps, cutAt, upAt, rejoinedAt, front })
    } finally {
      if (cut) await network.restore().catch(() => {})
      stop.abort()
      await samples.catch(() => [])
      await probe.catch(() => [])
    }
  },
  floors: {
    left_rotation_s: { max: 3 },
    rejoined_s: { max: 10 },
    failed_request_rate: { max: 0.001 },
    probe_read_failures: { max: 0 },
    probe_read_slowest_ms_cut: { max: 2_000 },
  },
  metrics: (load) => ({
    failed_request_rate:
      load.events.length === 0
        ? 0
        : Math.round((load.events.filter(failed).length / load.events.length) * 1e5) / 1e5,
  }),
})

async function openPartitionFront(
  state: StackState,
  signal: AbortSignal,
  log: (line: string) => void,
  refresh: () => Promise<StackState>,
): Promise<PartitionFront> {
  const leftovers = [
    ...(await removeLeftoverReplicaNetworks({ signal })),
    ...(await removeLeftoverReplicaDirs()),
  ]
  if (leftovers.length > 0) log(`removed leftovers of an earlier run: ${leftovers.join(', ')}`)
  const topology = await patroniCluster(state).topology({ signal })
  const leader = topology.members.find((m) => m.role === 'leader' && m.port !== undefined)
  if (!leader?.port) throw new Error('the Patroni cluster has no leader')
  const network = await createReplicaNetwork({ signal })
  let replica: NetnsReplica | undefined
  let added = false
  const close = async () => {
    if (added) await setExtraDatabaseHosts(state.dir, [], { log }).catch((err: Error) => log(err.message))
    await refresh().catch(() => {})
    await replica?.stop()
    await network.destroy()
    log(`removed the replica, ${network.namespace} and ${network.hostInterface}`)
  }
  try {
    replica = await startNetnsReplica({ network, primary: { host: '127.0.0.1', port: leader.port }, signal })
    const hostUrl = replica.url('microblog')
    log(`replica of ${leader.name} in ${network.namespace} at ${hostUrl}; rolling the apps onto it`)
    added = true
    await setExtraDatabaseHosts(state.dir, [hostUrl], { log, signal })
    const fresh = await refresh()
    const label = `${replica.address}:${replica.port}/microblog`
    const urls = fresh.apps.map((app) => `${app.url}/metrics`)
    await waitForRotation(urls, `db_replica_in_rotation{host="${label}"}`, urls.length, 30_000, signal)
    return { url: fresh.frontUrl, network, replica, hostUrl, label, [Symbol.asyncDispose]: close }
  } catch (error) {
    await close().catch(() => {})
    throw error
  }
}

/** Polls the apps' `/metrics` until `name` sums to `apps` (each app reads from it); `performance.now()` then. */
async function waitForRotation(
  urls: readonly string[],
  name: string,
  apps: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
  while (!stop.aborted) {
    const [sample] = await sampleOnce(urls, name)
    if ((sample?.values[name] ?? 0) >= apps) return sample!.at
    await sleep(50, undefined, { signal: stop }).catch(() => undefined)
  }
  signal.throwIfAborted()
  return undefined
}

/** One reading of `name` summed over the apps. */
async function sampleOnce(urls: readonly string[], name: string): Promise<CounterSample[]> {
  const texts = await Promise.all(
    urls.map((url) =>
      fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
        (res) => res.text(),
        () => '',
      ),
    ),
  )
  return [{ at: performance.now(), values: sumCounters(texts, [name]) }]
}

/** The drill's own figures from the apps' gauges and counters and the probe's reads. */
function partitionFigures(
  samples: readonly CounterSample[],
  reads: readonly ProbeRead[],
  at: {
    rotation: string
    reads: string
    apps: number
    cutAt: number
    upAt: number
    rejoinedAt: number | undefined
    front: PartitionFront
  },
) {
  const out = samples.find((s) => s.at > at.cutAt && (s.values[at.rotation] ?? 0) === 0)
  // The last reading, while the link was down, at which the apps' reads sent to it still grew.
  let lastRead: number | undefined
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!
    const b = samples[i]!
    if (b.at <= at.cutAt || b.at > at.upAt) continue
    if ((b.values[at.reads] ?? 0) > (a.values[at.reads] ?? 0)) lastRead = b.at
  }
  const during = reads.filter((r) => r.at >= at.cutAt && r.at <= at.upAt)
  const after = reads.filter((r) => at.rejoinedAt !== undefined && r.at >= at.rejoinedAt)
  const onReplica = (r: ProbeRead) => r.addr === at.front.replica.address
  return {
    partitioned_replica: at.front.label,
    namespace: at.front.network.namespace,
    cut_s: CUT_MS / 1000,
    left_rotation_s: out ? round((out.at - at.cutAt) / 1000) : null,
    rejoined_s: at.rejoinedAt === undefined ? null : round((at.rejoinedAt - at.upAt) / 1000),
    reads_on_cut_replica_after_s: lastRead === undefined ? 0 : round((lastRead - at.cutAt) / 1000),
    replica_reads_per_s_before: meanRate(samples, at.reads, at.cutAt - BEFORE_MS, at.cutAt),
    replica_reads_per_s_cut: meanRate(samples, at.reads, at.cutAt + 3_000, at.upAt),
    replica_reads_per_s_after:
      at.rejoinedAt === undefined ? 0 : meanRate(samples, at.reads, at.rejoinedAt, at.rejoinedAt + AFTER_MS),
    probe_reads: reads.length,
    probe_read_failures: reads.filter((r) => r.addr === undefined).length,
    probe_reads_cut: during.length,
    probe_read_slowest_ms_cut: Math.round(during.reduce((max, r) => Math.max(max, r.ms), 0)),
    probe_reads_on_replica_cut: during.filter((r) => r.at > at.cutAt + 100 && onReplica(r)).length,
    probe_reads_on_replica_after_share:
      after.length === 0 ? 0 : round(after.filter(onReplica).length / after.length),
  }
}

const round = (value: number): number => Math.round(value * 100) / 100
