import { execFile } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { type Cluster, createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { startReplicaSet } from '@hundredfold/pg/testing'
import { describe, expect, it } from 'vitest'
import {
  createReplicaNetwork,
  removeLeftoverReplicaDirs,
  removeLeftoverReplicaNetworks,
  startNetnsReplica,
} from '../src/netns/index.js'
import { ipBin, netnsExists, rootLinkExists } from '../src/vip/ip-command.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const hasNetns = await run(ipBin, ['netns', 'list']).then(
  () => true,
  () => false,
)
const skipped = !isRoot ? 'not root' : !hasNetns ? '`ip netns` is unavailable' : undefined

/** Polls `check` every 20 ms for up to `ms`; the milliseconds it took, or undefined. */
async function within(ms: number, check: () => boolean): Promise<number | undefined> {
  const started = performance.now()
  while (performance.now() - started < ms) {
    if (check()) return performance.now() - started
    await sleep(20)
  }
  return undefined
}

describe.skipIf(skipped !== undefined)(
  `a replica in a network namespace, its link cut${skipped ? ` (skipped: ${skipped})` : ''}`,
  () => {
    it('leaves read rotation while its link is down, reads answering from the primary, and rejoins once it is up', async () => {
      await removeLeftoverReplicaNetworks()
      await removeLeftoverReplicaDirs()
      const set = await startReplicaSet({ replicas: 0 })
      let cluster: Cluster | undefined
      let names: { namespace: string; link: string } | undefined
      try {
        await using network = await createReplicaNetwork({ signal: AbortSignal.timeout(20_000) })
        names = { namespace: network.namespace, link: network.hostInterface }
        await using replica = await startNetnsReplica({
          network,
          primary: { host: '127.0.0.1', port: set.primary.port },
          signal: AbortSignal.timeout(60_000),
        })
        const label = 'netns-replica'
        cluster = createCluster({
          hosts: [
            pgDriver({ connectionString: set.primary.url, label: 'primary', statementTimeoutMs: 5_000 }),
            pgDriver({ connectionString: replica.url('postgres'), label, statementTimeoutMs: 5_000 }),
          ],
          routing: { maxLagMs: 1_000 },
        })
        await cluster.ready()
        await set.sql(set.primary, 'CREATE TABLE probe (k int)')
        const inRotation = () => cluster!.stats().hosts.find((h) => h.host === label)?.inRotation === true
        expect(await within(5_000, inRotation)).toBeDefined()
        const where = async () =>
          (
            await cluster!.read<{ addr: string | null }>('SELECT inet_server_addr()::text AS addr', [], {
              signal: AbortSignal.timeout(3_000),
            })
          ).rows[0]?.addr
        expect(await where()).toBe(`${replica.address}/32`)

        await network.cut()
        // A stream of reads across the cut: each answers, from the primary once the replica is out.
        const started = performance.now()
        const answers: Array<string | null | undefined> = []
        let slowestMs = 0
        while (performance.now() - started < 3_000) {
          const at = performance.now()
          answers.push(await where())
          slowestMs = Math.max(slowestMs, performance.now() - at)
        }
        expect(inRotation()).toBe(false)
        expect(answers.at(-1)).toBe('127.0.0.1/32')
        // The probe's timeout (500 ms) and one more round: a read on the cut link gives up by then.
        expect(slowestMs).toBeLessThan(2_000)

        await set.sql(set.primary, 'INSERT INTO probe SELECT generate_series(1, 1000)')
        await network.restore()
        expect(await within(15_000, inRotation)).toBeDefined()
        expect(await where()).toBe(`${replica.address}/32`)
        const { rows } = await cluster.read<{ n: string }>('SELECT count(*) AS n FROM probe')
        expect(rows[0]?.n).toBe('1000')
      } finally {
        await cluster?.end()
        await set.destroy()
      }
      expect(netnsExists(names!.namespace)).toBe(false)
      expect(rootLinkExists(names!.link)).toBe(false)
    }, 90_000)
  },
)
