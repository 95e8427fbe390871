import { channel } from 'node:diagnostics_channel'
import { setMaxListeners } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { PgError } from '@hundredfold/pg'
import type { Consumer, QueueMessage } from '@hundredfold/queue'
import { ShardError } from '@hundredfold/shard'
import type { FastifyBaseLogger } from 'fastify'
import type { Services } from '../services/index.js'
import type { Store } from '../storage/store.js'
import type { WriteQueue } from '../storage/write-queue.js'
import { PoisonMessageError, parseEdgeMessage, parsePostMessage } from './messages.js'

/** Published after each fan-out, once per post: `{ lagMs }` from compose to visible in home timelines. */
export const fanoutChannel = channel('hundredfold:microblog:fanout')

/** Messages handled since start, by outcome. */
interface ConsumerCounts {
  acked: number
  failed: number
}

/** Options of {@link startConsumers}. */
export interface ConsumerOptions {
  /**
   * After a batch smaller than a full one, wait this long before the next fetch (`HF_CONSUMER_LINGER_MS`):
   * under a trickle, several posts then share one transaction and one fan-out round trip. @default 0
   */
  lingerMs?: number
}

export interface RunningConsumers {
  /** Stops fetching, finishes the batch in hand and settles it. */
  stop(): Promise<void>
}

const BATCH = 256
/** A batch that takes longer is abandoned (and redelivered): nothing in it may hang a consumer for ever. */
const WORK_TIMEOUT_MS = 30_000

/**
 * Runs the write path's consumers in this process:
 * - `timeline`: stores a batch of posts in one transaction (idempotent on the post id), then adds them
 *   to the followers' and mentioned users' home timelines in one round trip, then acks the batch.
 * - `edges`: writes the followee's side of a batch of follows and unfollows in one transaction, then
 *   drops the followers' home timelines (one round trip) so they are rebuilt from the new edges.
 * A batch that fails while PostgreSQL and Redis answer is retried message by message, so a poison
 * message is redelivered with backoff and dead-lettered alone while the rest are acked. A batch that
 * fails because a dependency is away is handed back whole, and the consumer fetches nothing more until
 * both answer again: an outage costs each message one delivery, not its place in the stream.
 */
export function startConsumers(
  queue: WriteQueue,
  services: Services,
  database: Store,
  log: FastifyBaseLogger,
  options: ConsumerOptions = {},
): RunningConsumers {
  const stop = new AbortController()
  const lingerMs = options.lingerMs ?? 0
  const counts = services.consumed
  const { posts, graph, timelines } = services

  const persistAndFanOut = async (batch: QueueMessage[], signal: AbortSignal) => {
    const list = batch.map((m) => parsePostMessage(m.text()).post)
    await posts.persist(list, { signal })
    // Every post of the batch, stored now or by an earlier delivery that died before its fan-out.
    await timelines.deliver(list, { signal })
    const now = Date.now()
    if (fanoutChannel.hasSubscribers) {
      for (const post of list) fanoutChannel.publish({ lagMs: now - new Date(post.created_at).getTime() })
    }
    // The authors' newest keys were deleted by persist: fill them, and the bodies, off the request path.
    await posts.warm(list, { signal })
  }
  const reconcileEdges = async (batch: QueueMessage[], signal: AbortSignal) => {
    const pairs = batch.map((m) => parseEdgeMessage(m.text()))
    await graph.reconcile(pairs, { signal })
    // Every follower of the batch, changed now or by an earlier delivery that died before this step.
    await timelines.store?.invalidate([...new Set(pairs.map((p) => p.follower_id))], signal)
  }

  const healthy = async (signal: AbortSignal) => {
    await database.ping({ signal })
    await timelines.store?.ping(signal)
  }
  const loops = [
    consume(queue.timeline, persistAndFanOut, healthy, counts.timeline, stop.signal, log, lingerMs),
    consume(queue.edges, reconcileEdges, healthy, counts.edges, stop.signal, log, lingerMs),
  ]
  let stopped: Promise<void> | undefined
  return {
    stop() {
      stop.abort()
      stopped ??= Promise.all(loops).then(() => {})
      return stopped
    },
  }
}

async function consume(
  consumer: Consumer,
  handle: (batch: QueueMessage[], signal: AbortSignal) => Promise<void>,
  healthy: (signal: AbortSignal) => Promise<void>,
  counts: ConsumerCounts,
  stopSignal: AbortSignal,
  log: FastifyBaseLogger,
  lingerMs: number,
): Promise<void> {
  let linger = false
  while (!stopSignal.aborted) {
    // A batch that was not full means a trickle: let a few more messages gather before the next one.
    if (linger) await pause(lingerMs, stopSignal)
    let batch: QueueMessage[]
    try {
      batch = await consumer.fetch({ max: BATCH, expiresMs: 1000 }, stopSignal)
    } catch (err) {
      if (stopSignal.aborted) break
      log.warn({ err, consumer: consumer.durable }, 'fetch failed; retrying')
      await pause(200, stopSignal)
      continue
    }
    linger = lingerMs > 0 && batch.length > 0 && batch.length < BATCH
    if (batch.length === 0) continue
    // Work in hand finishes even when stopping (it is settled, not abandoned), within a bound.
    try {
      await handle(batch, workSignal())
      for (const m of batch) m.ack()
      counts.acked += batch.length
      continue
    } catch (err) {
      // The message's fault, or a dependency's? Ask the dependencies.
      if (!causedByMessage(err) && !(await answers(healthy, stopSignal))) {
        log.warn({ err, consumer: consumer.durable }, 'batch failed: a dependency is away; handing it back')
        for (const m of batch) await settleFailure(consumer, m, err, counts)
        await untilHealthy(healthy, stopSignal, log)
        continue
      }
      if (batch.length === 1) {
        await settleFailure(consumer, batch[0]!, err, counts, log)
        continue
      }
      log.warn({ err, consumer: consumer.durable }, 'batch failed; retrying it one message at a time')
    }
    for (const m of batch) {
      try {
        await handle([m], workSignal())
        m.ack()
        counts.acked++
      } catch (err) {
        await settleFailure(consumer, m, err, counts, log)
      }
    }
  }
}

async function settleFailure(
  consumer: Consumer,
  message: QueueMessage,
  err: unknown,
  counts: ConsumerCounts,
  log?: FastifyBaseLogger,
): Promise<void> {
  counts.failed++
  log?.warn(
    { err, consumer: consumer.durable, seq: message.seq, deliveries: message.deliveries },
    'message failed; redelivered after backoff, dead-lettered after the last delivery',
  )
  await consumer.fail(message, err).catch(() => message.nak())
}

/** A failure a message causes (and would cause again), whatever the dependencies' state. */
function causedByMessage(err: unknown): boolean {
  if (err instanceof PoisonMessageError) return true
  // SQLSTATE class 22 (data exception) and 23 (integrity violation): the row, not the server.
  const sqlState = err instanceof PgError || err instanceof ShardError ? err.sqlState : undefined
  return /^2[23]/.test(sqlState ?? '')
}

async function answers(healthy: (signal: AbortSignal) => Promise<void>, stopSignal: AbortSignal) {
  try {
    await healthy(AbortSignal.any([stopSignal, AbortSignal.timeout(2000)]))
    return true
  } catch {
    return false
  }
}

/** Waits, probing with growing pauses (0.25 → 5 s), until the database and the timeline store answer. */
async function untilHealthy(
  healthy: (signal: AbortSignal) => Promise<void>,
  stopSignal: AbortSignal,
  log: FastifyBaseLogger,
): Promise<void> {
  for (let waitMs = 250; !stopSignal.aborted; waitMs = Math.min(waitMs * 2, 5000)) {
    try {
      await healthy(AbortSignal.any([stopSignal, AbortSignal.timeout(2000)]))
      return
    } catch (err) {
      if (stopSignal.aborted) return
      log.warn({ err, retryInMs: waitMs }, 'consumer paused: a dependency does not answer')
      await pause(waitMs, stopSignal)
    }
  }
}

/** Waits `ms`, or less if the signal fires first; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => {})
}

/**
 * The deadline of one batch's work. Its many calls (a delete per author, a timeline per follower) each
 * listen on it until they settle, so Node's warning past 10 listeners does not apply.
 */
function workSignal(): AbortSignal {
  const signal = AbortSignal.timeout(WORK_TIMEOUT_MS)
  setMaxListeners(0, signal)
  return signal
}
