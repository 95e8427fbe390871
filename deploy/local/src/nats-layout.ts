import { join } from 'node:path'
import type { ProcessRecord } from './state.js'

/** `--ha`: the JetStream cluster's nodes, the fewest that keep a majority through one loss (R3 streams). */
export const natsClusterSize = 3

/** `--ha`: ports each node takes, from the NATS block's first: client +0, monitor +1, route +2. */
export const natsNodePorts = 3

/** A process of the plan, before it runs. */
type Planned = Omit<ProcessRecord, 'pid' | 'startTime'>

/** Where the stack's NATS servers listen and store, and the URL the apps get. */
export interface NatsPlan {
  /** `nats`, or with `ha` the first node `nats-1` (on the same client and monitor ports). */
  readonly nats: Planned
  /** With `ha`: `nats-2` and `nats-3`. */
  readonly natsCluster?: Planned[]
  /** `nats://127.0.0.1:<port>`, or with `ha` every node's, comma-separated (`HF_NATS_URL`). */
  readonly natsUrl: string
}

/**
 * The NATS servers of a stack whose NATS block starts at `firstPort`: one `nats` on `firstPort`
 * (monitor +1) storing in `storeDir`; or with `ha` three nodes `nats-1…3`, node n on
 * `firstPort + 3(n − 1)` (monitor +1, cluster route +2), each storing in `storeDir/nats-N`.
 *
 * @example
 * planNats({ firstPort: 18020, storeDir: '/s/nats', logDir: '/s/logs', ha: true }).natsUrl
 * // 'nats://127.0.0.1:18020,nats://127.0.0.1:18023,nats://127.0.0.1:18026'
 */
export function planNats(options: {
  readonly firstPort: number
  readonly storeDir: string
  readonly logDir: string
  readonly ha: boolean
}): NatsPlan {
  const { firstPort, storeDir, logDir } = options
  if (!options.ha) {
    const nats: Planned = {
      name: 'nats',
      kind: 'nats',
      port: firstPort,
      url: `nats://127.0.0.1:${firstPort}`,
      log: join(logDir, 'nats.log'),
      dataDir: storeDir,
      monitorPort: firstPort + 1,
      markers: ['nats-server', storeDir],
    }
    return { nats, natsUrl: nats.url }
  }
  const nodes = Array.from({ length: natsClusterSize }, (_, i): Planned => {
    const name = `nats-${i + 1}`
    const port = firstPort + i * natsNodePorts
    const dataDir = join(storeDir, name)
    return {
      name,
      kind: 'nats',
      port,
      url: `nats://127.0.0.1:${port}`,
      log: join(logDir, `${name}.log`),
      dataDir,
      monitorPort: port + 1,
      routePort: port + 2,
      markers: ['nats-server', dataDir],
    }
  })
  const [first, ...rest] = nodes
  return { nats: first!, natsCluster: rest, natsUrl: nodes.map((n) => n.url).join(',') }
}
