import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type { ConsumerSpec, DriverMessage, QueueDriver } from '../../driver.js'
import { abortable, abortError, QueueError, type QueueErrorContext, throwIfAborted } from '../../errors.js'
import { checkFixedSettings } from '../../stream-options.js'
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  nanos,
} from './nats-client.js'
import { AsyncPublisher } from './publisher.js'
import { retryTimeouts } from './retry-timeouts.js'
import { createConfig, settingsOf, updatableConfig } from './stream-config.js'

/** Options of `jetstreamDriver()`: either where to connect or an existing connection. */
export interface JetStreamDriverOptions {
  /** NATS servers. @default '127.0.0.1:4222' */
  servers?: string | string[]
  /** An existing connection; the driver then flushes but never closes it. */
  connection?: NatsConnection
  /** How long a publish waits for the stream's acknowledgement. @default 5000 */
  publishTimeoutMs?: number
  /** Connection name shown by the server. @default 'hundredfold-queue' */
  name?: string
}

interface Session {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  publisher: AsyncPublisher
}

/**
 * A `QueueDriver` over NATS JetStream: file or memory streams with a `duplicate_window`, `max_age`,
 * `max_bytes`, `max_msgs`, a discard policy and `num_replicas` (set on create, updated on every open),
 * durable pull consumers with explicit ack, `backoff` and `max_deliver`. The connection reconnects
 * forever, so a broker restart pauses publishes and fetches instead of failing the process.
 *
 * @example
 * import { jetstreamDriver } from '@hundredfold/queue/jetstream'
 * const queue = createQueue({ driver: jetstreamDriver({ servers: '127.0.0.1:4222' }) })
 */
export function jetstreamDriver(options: JetStreamDriverOptions = {}): QueueDriver {
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000
  if (!Number.isInteger(publishTimeoutMs) || publishTimeoutMs <= 0) {
    throw new QueueError('E_INVALID_OPTION', 'options.publishTimeoutMs must be a positive integer')
  }
  const owned = options.connection === undefined
  let session: Promise<Session> | undefined
  let ready: Session | undefined
  let closed = false
  /** Per `<stream>.<durable>`: the library's consumer handle and the messages still pending at the last delivery. */
  const handles = new Map<string, { consumer: Consumer; pending: number }>()
  const forget = (stream: string, durable?: string) => {
    for (const key of handles.keys()) {
      if (durable === undefined ? key.startsWith(`${stream}.`) : key === `${stream}.${durable}`)
        handles.delete(key)
    }
  }

  const open = (signal?: AbortSignal): Promise<Session> => {
    if (closed) return Promise.reject(new QueueError('E_CLOSED', 'connection is closed'))
    throwIfAborted(signal)
    session ??= (async () => {
      const nc =
        options.connection ??
        (await connect({
          servers: options.servers ?? '127.0.0.1:4222',
          name: options.name ?? 'hundredfold-queue',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        }).catch((err: unknown) => {
          session = undefined
          throw new QueueError('E_CONNECT', 'cannot connect to NATS', {
            cause: err,
            context: { servers: options.servers ?? '127.0.0.1:4222' },
          })
        }))
      const jsm = await jetstreamManager(nc, { checkAPI: false })
      const js = jetstream(nc, { checkAPI: false })
      ready = { nc, js, jsm, publisher: new AsyncPublisher(nc, publishTimeoutMs) }
      return ready
    })()
    return abortable(session, signal)
  }

  const call = async <T>(
    signal: AbortSignal | undefined,
    context: QueueErrorContext,
    fn: (s: Session) => Promise<T>,
  ): Promise<T> => {
    const s = await open(signal)
    try {
      return await abortable(fn(s), signal, context)
    } catch (err) {
      throw toQueueError(err, context)
    }
  }

  return {
    kind: 'jetstream',

    ensureStream(spec, signal) {
      return call(signal, { stream: spec.name }, ({ jsm }) =>
        retryTimeouts(async () => {
          const existing = await jsm.streams.info(spec.name).then(
            (info) => info.config,
            (err: unknown) => (apiCode(err) === NOT_FOUND.stream ? undefined : Promise.reject(err)),
          )
          if (existing) {
            checkFixedSettings(spec, settingsOf(existing))
            await jsm.streams.update(spec.name, updatableConfig(spec))
          } else await jsm.streams.add(createConfig(spec))
        }, signal),
      )
    },

    deleteStream(name, signal) {
      forget(name)
      return call(signal, { stream: name }, ({ jsm }) =>
        jsm.streams.delete(name).catch((err: unknown) => {
          if (apiCode(err) === NOT_FOUND.stream) return false
          throw err
        }),
      )
    },

    streamInfo(name, signal) {
      return call(signal, { stream: name }, async ({ jsm }) => {
        const { state, config, cluster } = await jsm.streams.info(name)
        return {
          messages: state.messages,
          bytes: state.bytes,
          firstSeq: state.first_seq,
          lastSeq: state.last_seq,
          config: settingsOf(config),
          ...(cluster
            ? {
                cluster: {
                  leader: cluster.leader || undefined,
                  replicas: (cluster.replicas ?? []).map((r) => ({
                    name: r.name,
                    current: r.current,
                    offline: r.offline ?? false,
                  })),
                },
              }
            : {}),
        }
      })
    },

    async publish(subject, data, spec, signal) {
      const s = ready ?? (await open(signal))
      throwIfAborted(signal, { subject })
      const acked = s.publisher.publish(subject, data, spec)
      return signal ? abortable(acked, signal, { subject, id: spec.msgId }) : acked
    },

    async publishBatch(messages, signal) {
      const s = ready ?? (await open(signal))
      throwIfAborted(signal, { messages: messages.length })
      const acked = s.publisher.publishBatch(messages)
      return signal ? abortable(acked, signal, { messages: messages.length }) : acked
    },

    ensureConsumer(stream, spec, signal) {
      forget(stream, spec.durable)
      return call(signal, { stream, consumer: spec.durable }, ({ jsm }) =>
        retryTimeouts(async () => {
          const config = consumerConfig(spec)
          const exists = await jsm.consumers.info(stream, spec.durable).then(
            () => true,
            (err: unknown) => (apiCode(err) === NOT_FOUND.consumer ? false : Promise.reject(err)),
          )
          if (exists) await jsm.consumers.update(stream, spec.durable, config)
          else await jsm.consumers.add(stream, { ...config, durable_name: spec.durable })
        }, signal),
      )
    },

    deleteConsumer(stream, durable, signal) {
      forget(stream, durable)
      return call(signal, { stream, consumer: durable }, ({ jsm }) =>
        jsm.consumers.delete(stream, durable).catch((err: unknown) => {
          if (apiCode(err) === NOT_FOUND.consumer) return false
          throw err
        }),
      )
    },

    async fetch(stream, durable, spec, signal) {
      const context = { stream, consumer: durable }
      const key = `${stream}.${durable}`
      // One consumer-info round trip the first time: the handle, and how many messages wait to be delivered.
      const { consumer, pending: known } =
        handles.get(key) ??
        (await call(signal, context, async ({ js }) => {
          const handle = await js.consumers.get(stream, durable)
          return { consumer: handle, pending: (await handle.info(true)).num_pending }
        }))
      // A pull request ends only when its batch is full or at `expires`, so each one asks for no more than
      // the server said is there (at least 1: that one waits for the next message). What it said at the last
      // delivery is stale by the time the caller spent on that batch, so a second pull takes what arrived
      // meanwhile, as the first one's last delivery counts it: a batch holds what was there when `fetch()`
      // was called, as with the in-process driver. What arrives during the fetch is left to the next one:
      // topping up until `max` would, under a trickle, be waiting for a full batch again.
      const expiresMs = Math.max(1000, spec.expiresMs)
      const out: DriverMessage[] = []
      let pending = known
      try {
        const size = Math.min(spec.max, Math.max(known, 1))
        const first = await pull(consumer, size, expiresMs, signal, context)
        out.push(...first.messages)
        pending = first.pending
        const more = Math.min(spec.max - out.length, pending)
        if (out.length === size && more > 0) {
          const second = await pull(consumer, more, expiresMs, signal, context)
          out.push(...second.messages)
          pending = second.pending
        }
      } catch (err) {
        for (const m of out) m.nak(0)
        handles.delete(key)
        throw err
      }
      handles.set(key, { consumer, pending })
      return out
    },

    consumerInfo(stream, durable, signal) {
      return call(signal, { stream, consumer: durable }, async ({ jsm }) => {
        const info = await jsm.consumers.info(stream, durable)
        return {
          pending: info.num_pending,
          ackPending: info.num_ack_pending,
          redelivered: info.num_redelivered,
        }
      })
    },

    async close(signal) {
      if (closed) return
      closed = true
      ready = undefined
      if (!session) return
      const s = await session.catch(() => undefined)
      if (!s) return
      await abortable(s.publisher.idle(), signal).catch(() => {}) // let publishes in flight be acknowledged
      s.publisher.close()
      // drain() flushes acknowledgements still buffered, so they are not redelivered after restart.
      await abortable(owned ? s.nc.drain() : s.nc.flush(), signal).catch(() => {})
    },
  }
}

const NOT_FOUND = {
  stream: JetStreamApiCodes.StreamNotFound,
  consumer: JetStreamApiCodes.ConsumerNotFound,
} as const

/** Ensures a message that failed on its last allowed delivery is still redelivered, and then parked. */
const EXTRA_DELIVERIES = 100

function consumerConfig(spec: ConsumerSpec) {
  return {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: spec.filterSubject,
    ack_wait: nanos(spec.backoffMs[0] ?? spec.ackWaitMs),
    max_deliver: Math.max(spec.backoffMs.length, 1) + EXTRA_DELIVERIES,
    max_ack_pending: spec.maxAckPending,
    ...(spec.backoffMs.length > 0 ? { backoff: spec.backoffMs.map((ms) => nanos(ms)) } : {}),
  }
}

/**
 * One `consumer.fetch()`: up to `max` messages, waiting at most `expiresMs`, and how many were still
 * pending at the last delivery. On an abort, the messages already delivered are handed back at once
 * (`nak`) rather than after the ack wait.
 */
async function pull(
  consumer: Consumer,
  max: number,
  expiresMs: number,
  signal: AbortSignal | undefined,
  context: QueueErrorContext,
): Promise<{ messages: DriverMessage[]; pending: number }> {
  throwIfAborted(signal, context)
  const out: DriverMessage[] = []
  let pending = 0
  const messages = await consumer
    .fetch({ max_messages: max, expires: expiresMs })
    .catch((err: unknown) => Promise.reject(toQueueError(err, context)))
  const stop = () => void messages.close()
  signal?.addEventListener('abort', stop, { once: true })
  // The library pauses its heartbeat check while disconnected: give up a little after `expires`.
  const timer = setTimeout(stop, expiresMs + 1000)
  try {
    for await (const m of messages) {
      out.push(toDelivery(m))
      pending = m.info.pending
    }
  } catch (err) {
    if (!endsRequest(err)) {
      for (const m of out) m.nak(0)
      throw toQueueError(err, context)
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', stop)
  }
  if (signal?.aborted) {
    for (const m of out) m.nak(0)
    throw abortError(signal, context)
  }
  return { messages: out, pending }
}

/** A 409 that is not "consumer deleted" (e.g. max ack pending reached) ends a fetch with what it has. */
function endsRequest(err: unknown): boolean {
  const status = statusOf(err)
  return status !== undefined && status.code === 409 && !/consumer deleted/i.test(status.message)
}

function statusOf(err: unknown): { code: number; message: string } | undefined {
  if (!(err instanceof Error) || err.name !== 'JetStreamStatusError') return undefined
  const code = (err as Error & { code?: unknown }).code
  return typeof code === 'number' ? { code, message: err.message } : undefined
}

function toDelivery(m: JsMsg): DriverMessage {
  const headers: Record<string, string> = {}
  if (m.headers) for (const k of m.headers.keys()) headers[k] = m.headers.get(k)
  return {
    subject: m.subject,
    data: m.data,
    headers,
    seq: m.info.streamSequence,
    deliveries: m.info.deliveryCount,
    ack: () => m.ack(),
    nak: (delayMs) => m.nak(delayMs),
    term: () => m.term(),
  }
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.apiError().err_code : undefined
}

function toQueueError(err: unknown, context: QueueErrorContext): QueueError {
  if (err instanceof QueueError) return err
  const status = statusOf(err)
  // 409 "consumer deleted" during a fetch; 503 "no responders": a pull request to a consumer that is gone.
  if ((status?.code === 409 && /consumer deleted/i.test(status.message)) || status?.code === 503) {
    return new QueueError('E_NO_CONSUMER', `consumer ${context.consumer} was deleted`, {
      cause: err,
      context,
    })
  }
  const code = apiCode(err)
  if (code === NOT_FOUND.stream)
    return new QueueError('E_NO_STREAM', 'stream not found', { cause: err, context })
  if (code === NOT_FOUND.consumer) {
    return new QueueError('E_NO_CONSUMER', 'consumer not found', { cause: err, context })
  }
  const name = err instanceof Error ? err.name : ''
  if (name === 'ClosedConnectionError')
    return new QueueError('E_CLOSED', 'connection is closed', { cause: err, context })
  const message = err instanceof Error ? err.message : String(err)
  return new QueueError('E_BROKER', `NATS: ${message}`, { cause: err, context })
}
