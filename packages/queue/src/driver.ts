/**
 * The subset of a broker this package needs. The JetStream and in-process drivers implement it;
 * `Queue`, `Stream` and `Consumer` add partitioning, dead letters and the run loop on top, once.
 */
export interface QueueDriver {
  /** `jetstream` or `memory`: shown in errors and stats. */
  readonly kind: string
  /** Creates the stream, or updates it to this spec when it exists. */
  ensureStream(spec: StreamSpec, signal?: AbortSignal): Promise<void>
  /** Deletes the stream and its consumers; false when there was none. */
  deleteStream(name: string, signal?: AbortSignal): Promise<boolean>
  streamInfo(name: string, signal?: AbortSignal): Promise<StreamInfo>
  /** Resolves once the broker stored the message (or found it a duplicate of `msgId`). */
  publish(
    subject: string,
    data: Uint8Array,
    options: PublishSpec,
    signal?: AbortSignal,
  ): Promise<DriverPubAck>
  /**
   * Stores several messages, all sent at once, and resolves with their acknowledgements in order.
   * Rejects on the first message not stored; the others may be, and a retry with the same ids is deduplicated.
   */
  publishBatch(messages: readonly DriverPublish[], signal?: AbortSignal): Promise<DriverPubAck[]>
  /** Creates the durable pull consumer, or updates it to this spec when it exists. */
  ensureConsumer(stream: string, spec: ConsumerSpec, signal?: AbortSignal): Promise<void>
  deleteConsumer(stream: string, durable: string, signal?: AbortSignal): Promise<boolean>
  /** Up to `max` messages, waiting at most `expiresMs` for the first; fewer (or none) is normal. */
  fetch(stream: string, durable: string, options: FetchSpec, signal?: AbortSignal): Promise<DriverMessage[]>
  consumerInfo(stream: string, durable: string, signal?: AbortSignal): Promise<ConsumerInfo>
  /** Flushes acknowledgements in flight, then closes. Idempotent. */
  close(signal?: AbortSignal): Promise<void>
}

export interface StreamSpec extends StreamSettings {
  name: string
  subjects: string[]
}

/** How a stream stores and bounds its messages (see `StreamOptions` for each one's meaning). */
export interface StreamSettings {
  duplicateWindowMs: number
  storage: 'file' | 'memory'
  retention: 'limits' | 'workqueue'
  discard: 'new' | 'old'
  /** `Infinity`: no limit. */
  maxAgeMs: number
  /** `Infinity`: no limit. */
  maxBytes: number
  /** `Infinity`: no limit. */
  maxMessages: number
  replicas: number
}

export interface StreamInfo {
  /** Messages stored now. */
  messages: number
  /** Bytes they take, as the broker counts them (payload, subject, headers and a per-message overhead). */
  bytes: number
  firstSeq: number
  lastSeq: number
  /** The settings the broker holds for the stream (read back, not what was asked for). */
  config: StreamSettings
  /**
   * On a JetStream cluster: the server leading the stream and the other replicas, as the broker
   * reports them. Absent on a single server and in-process.
   */
  cluster?: StreamCluster
}

/** The servers that hold a stream on a JetStream cluster. */
export interface StreamCluster {
  /** The server name of the stream's RAFT leader (the one that takes its writes); unset while none is elected. */
  leader: string | undefined
  /** The other servers holding a copy: `current` once caught up with the leader, `offline` when unreachable. */
  replicas: Array<{ name: string; current: boolean; offline: boolean }>
}

export interface PublishSpec {
  msgId?: string
  headers?: Record<string, string>
}

/** One message of {@link QueueDriver.publishBatch}. */
export interface DriverPublish {
  subject: string
  data: Uint8Array
  spec: PublishSpec
}

export interface DriverPubAck {
  stream: string
  seq: number
  duplicate: boolean
}

export interface ConsumerSpec {
  durable: string
  filterSubject: string
  /** Redelivery after no acknowledgement, used when `backoffMs` is empty. */
  ackWaitMs: number
  /** Delays before redelivery n (the last repeats). */
  backoffMs: number[]
  maxAckPending: number
}

export interface FetchSpec {
  max: number
  expiresMs: number
}

export interface ConsumerInfo {
  /** Matching messages not yet delivered to this consumer. */
  pending: number
  /** Delivered, not yet acknowledged. */
  ackPending: number
  /** Delivered more than once, not yet acknowledged. */
  redelivered: number
}

/** One delivery. `ack`, `nak` and `term` are fire-and-forget; `close()` flushes them. */
export interface DriverMessage {
  subject: string
  data: Uint8Array
  headers: Record<string, string>
  /** Stream sequence. */
  seq: number
  /** 1 on the first delivery. */
  deliveries: number
  ack(): void
  /** Redeliver after `delayMs` (the consumer's backoff when omitted). */
  nak(delayMs?: number): void
  /** Never redeliver. */
  term(): void
}
