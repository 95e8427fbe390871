import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Balancer } from '@hundredfold/balance'
import { IdClient } from '@hundredfold/id/client'
import { killProcess } from '@hundredfold/stack'
import { stackDrill } from './stack-drill.js'

/** How long the killed ID service stays dead. */
const DEAD_FOR_MS = 10_000
/** Ids taken before the kill, and after the service is back. */
const BEFORE_MS = 3_000
const AFTER_MS = 4_000
/** Ids each taker asks for per call, and how often. Ten takers: 5,000 ids/s. */
const TAKERS = 10
const BATCH = 50
const EVERY_MS = 100

/** What the takers saw. */
interface Taken {
  ids: string[]
  calls: number
  failures: number
  /** The longest time, in ms, between two calls that succeeded, over all takers. */
  longestGapMs: number
}

/**
 * `npm run drill -- kill-id-service`: an `IdClient` over the stack's two ID services through a
 * `@hundredfold/balance` balancer takes 5,000 ids/s (in calls of 50, refills of 100) while the mix runs;
 * `kill -9` of `id-service-1`; 10 s later the stack starts it again and it leases a worker id anew.
 * Floors: `id_calls_failed` = 0 (the balancer retries the other instance) and `duplicate_ids` = 0
 * over every id taken, before, during and after.
 */
export const killIdService = stackDrill({
  name: 'kill-id-service',
  description:
    'kill -9 of one of the two ID services while a balanced IdClient takes 5,000 ids/s, under the mix at half its MST',
  async action(stack, signal, log) {
    const endpoints = stack.state.idServices.map((record) => record.url)
    const balancer = new Balancer({ endpoints, perTryTimeoutMs: 500 })
    const client = new IdClient({ dispatcher: balancer, batchSize: 100 })
    const taking = new AbortController()
    const takers = takeIds(client, AbortSignal.any([signal, taking.signal]))
    try {
      await sleep(BEFORE_MS, undefined, { signal })
      const killedAt = performance.now()
      const pid = await killProcess(stack.state.dir, 'id-service-1')
      log(`killed id-service-1 (pid ${pid}); ids keep coming from ${endpoints[1]}`)
      await sleep(DEAD_FOR_MS, undefined, { signal })
      log('starting id-service-1 again')
      await stack.repair()
      const downS = (performance.now() - killedAt) / 1000
      await sleep(AFTER_MS, undefined, { signal })
      taking.abort()
      const taken = await takers
      const unique = new Set(taken.ids).size
      return {
        ids_taken: taken.ids.length,
        duplicate_ids: taken.ids.length - unique,
        id_calls: taken.calls,
        id_calls_failed: taken.failures,
        id_longest_gap_ms: Math.round(taken.longestGapMs),
        id_service_down_s: Math.round(downS * 100) / 100,
      }
    } finally {
      taking.abort()
      await takers.catch(() => undefined)
      await balancer.close()
    }
  },
  floors: { id_calls_failed: { max: 0 }, duplicate_ids: { max: 0 } },
  metrics: () => ({}),
})

async function takeIds(client: IdClient, signal: AbortSignal): Promise<Taken> {
  const taken: Taken = { ids: [], calls: 0, failures: 0, longestGapMs: 0 }
  const taker = async (): Promise<void> => {
    let lastOk = performance.now()
    while (!signal.aborted) {
      taken.calls++
      try {
        const batch = await client.nextBatch(BATCH, AbortSignal.any([signal, AbortSignal.timeout(2000)]))
        for (const id of batch) taken.ids.push(id)
        const now = performance.now()
        taken.longestGapMs = Math.max(taken.longestGapMs, now - lastOk)
        lastOk = now
      } catch {
        if (signal.aborted) {
          taken.calls--
          break
        }
        taken.failures++
      }
      await sleep(EVERY_MS, undefined, { signal }).catch(() => undefined)
    }
  }
  await Promise.all(Array.from({ length: TAKERS }, taker))
  return taken
}
