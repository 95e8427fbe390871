import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'

/** One read of the probe: when it was sent, how long it took, who answered (or that it failed). */
export interface ProbeRead {
  at: number
  ms: number
  /** `inet_server_addr()` of the server that answered; undefined when the read failed. */
  addr: string | undefined
}

/** How often the probe reads; each read has the apps' request deadline (10 s). */
const PROBE_EVERY_MS = 20
const PROBE_DEADLINE_MS = 10_000

/**
 * A `@hundredfold/pg` cluster over `hosts` (the apps' `HF_DATABASE_HOSTS`, routed as the apps route:
 * `maxLagMs` 1000) reading `inet_server_addr()` every 20 ms until `signal`, each read under a 10 s
 * deadline as a request's — what the apps' replica reads go through, read by read (the mix's own
 * replica reads are few: the microblog's caches load from the primary).
 */
export async function probeReads(hosts: readonly string[], signal: AbortSignal): Promise<ProbeRead[]> {
  const cluster = createCluster({
    hosts: hosts.map((url) => pgDriver({ connectionString: url, statementTimeoutMs: 10_000 })),
    routing: { maxLagMs: 1_000 },
  })
  const reads: ProbeRead[] = []
  try {
    await cluster.ready()
    while (!signal.aborted) {
      const at = performance.now()
      const addr = await cluster
        .read<{ addr: string | null }>('SELECT host(inet_server_addr()) AS addr', [], {
          signal: AbortSignal.timeout(PROBE_DEADLINE_MS),
        })
        .then(
          ({ rows }) => rows[0]?.addr ?? '127.0.0.1',
          () => undefined,
        )
      reads.push({ at, ms: performance.now() - at, addr })
      await sleep(PROBE_EVERY_MS, undefined, { signal }).catch(() => undefined)
    }
    return reads
  } finally {
    await cluster.end()
  }
}
