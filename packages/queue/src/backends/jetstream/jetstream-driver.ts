import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream'
import { createInbox, type Msg, type NatsConnection, nanos } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import type { ConsumerSpec, DriverMessage, QueueDriver } from '../../driver.js'
import { abortable, QueueError, throwIfAborted } from '../../errors.js'
import { AsyncPublisher } from './publisher.js'

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
  jsm: JetStreamManager
  publisher: AsyncPublisher
}

/**
 * A `QueueDriver` over NATS JetStream: file or memory streams with a `duplicate_window`, durable
 * pull consumers with explicit ack, `backoff` and `max_deliver`. The connection reconnects forever,
 * so a broker restart pauses publishes and fetches instead of failing the process.
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
      ready = { nc, jsm, publisher: new AsyncPublisher(nc, publishTimeoutMs) }
      return ready
    })()
    return abortable(session, signal)
  }

  const call = async <T>(
    signal: AbortSignal | undefined,
    context: Record<string, unknown>,
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
      return call(signal, { stream: spec.name }, async ({ jsm }) => {
        const config = {
          subjects: spec.subjects,
          duplicate_window: nanos(spec.duplicateWindowMs),
        }
        const exists = await jsm.streams.info(spec.name).then(
          () => true,
          (err: unknown) => (apiCode(err) === NOT_FOUND.stream ? false : Promise.reject(err)),
        )
        if (exists) await jsm.streams.update(spec.name, config)
        else {
          await jsm.streams.add({
            name: spec.name,
            ...config,
            storage: spec.storage === 'file' ? StorageType.File : StorageType.Memory,
          })
        }
      })
    },

    deleteStream(name, signal) {
      return call(signal, { stream: name }, ({ jsm }) =>
        jsm.streams.delete(name).catch((err: unknown) => {
          if (apiCode(err) === NOT_FOUND.stream) return false
          throw err
        }),
      )
    },

    streamInfo(name, signal) {
      return call(signal, { stream: name }, async ({ jsm }) => {
        const { state } = await jsm.streams.info(name)
        return { messages: state.messages, firstSeq: state.first_seq, lastSeq: state.last_seq }
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
      return call(signal, { stream, consumer: spec.durable }, async ({ jsm }) => {
        const config = consumerConfig(spec)
        const exists = await jsm.consumers.info(stream, spec.durable).then(
          () => true,
          (err: unknown) => (apiCode(err) === NOT_FOUND.consumer ? false : Promise.reject(err)),
        )
        if (exists) await jsm.consumers.update(stream, spec.durable, config)
        else await jsm.consumers.add(stream, { ...config, durable_name: spec.durable })
      })
    },

    deleteConsumer(stream, durable, signal) {
      return call(signal, { stream, consumer: durable }, ({ jsm }) =>
        jsm.consumers.delete(stream, durable).catch((err: unknown) => {
          if (apiCode(err) === NOT_FOUND.consumer) return false
          throw err
        }),
      )
    },

    async fetch(stream, durable, spec, signal) {
      const { nc } = await open(signal)
      return pull(nc, stream, durable, spec.max, Math.max(1000, spec.expiresMs), signal)
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

const NOT_FOUND = { stream: 10059, consumer: 10014 } as const

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
 * One pull request with `no_wait` + `expires`: the server holds it until a message is available
 * (or `expires`), then sends what it has, up to `batch`, and ends it — so a half-empty batch comes
 * back at once instead of after `expires`, the behaviour the in-process driver has.
 */
function pull(
  nc: NatsConnection,
  stream: string,
  durable: string,
  batch: number,
  expiresMs: number,
  signal: AbortSignal | undefined,
): Promise<DriverMessage[]> {
  throwIfAborted(signal, { consumer: durable })
  return new Promise((resolve, reject) => {
    const out: DriverMessage[] = []
    const inbox = createInbox()
    let done = false
    const finish = (err?: unknown) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      sub.unsubscribe()
      if (err) {
        // Delivered but not returned: hand them back at once rather than after the ack wait.
        for (const m of out) m.nak(0)
        reject(err)
      } else resolve(out)
    }
    const onAbort = () =>
      finish(
        new QueueError('E_ABORTED', 'operation aborted', { cause: signal?.reason, context: { durable } }),
      )
    const sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err) return finish(toQueueError(err, { stream, consumer: durable }))
        const status = msg.headers?.code ?? 0
        if (status > 0 && msg.data.length === 0) {
          if (status === 409 && /consumer deleted/i.test(msg.headers?.description ?? '')) {
            return finish(
              new QueueError('E_NO_CONSUMER', `consumer ${durable} was deleted`, {
                context: { stream, durable },
              }),
            )
          }
          return finish() // 404 no messages, 408 expired, other 409s: the request is over
        }
        const m = toDelivery(nc, msg)
        if (m) out.push(m)
        if (out.length >= batch) finish()
      },
    })
    // If the 408 never comes (connection lost mid-request), give up a little after expires.
    const timer = setTimeout(() => finish(), expiresMs + 1000)
    signal?.addEventListener('abort', onAbort, { once: true })
    nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      JSON.stringify({ batch, expires: nanos(expiresMs), no_wait: true }),
      { reply: inbox },
    )
  })
}

const ACK = '+ACK'
const TERM = '+TERM'

/** Parses the ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.…` (v1) or with domain and account hash (v2). */
function toDelivery(nc: NatsConnection, msg: Msg): DriverMessage | undefined {
  const reply = msg.reply
  if (!reply?.startsWith('$JS.ACK.')) return undefined
  const t = reply.split('.')
  const base = t.length === 9 ? 4 : 6
  const deliveries = Number(t[base])
  const seq = Number(t[base + 1])
  const headers: Record<string, string> = {}
  if (msg.headers) for (const k of msg.headers.keys()) headers[k] = msg.headers.get(k)
  return {
    subject: msg.subject,
    data: msg.data,
    headers,
    seq,
    deliveries,
    ack: () => nc.publish(reply, ACK),
    nak: (delayMs) =>
      nc.publish(reply, delayMs === undefined ? '-NAK' : `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`),
    term: () => nc.publish(reply, TERM),
  }
}

function apiCode(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'apiError' in err && typeof err.apiError === 'function') {
    return (err.apiError() as { err_code?: number }).err_code
  }
  return undefined
}

function toQueueError(err: unknown, context: Record<string, unknown>): QueueError {
  if (err instanceof QueueError) return err
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
