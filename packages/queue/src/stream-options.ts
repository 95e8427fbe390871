import type { StreamSettings, StreamSpec } from './driver.js'
import { QueueError } from './errors.js'

/** Options of `queue.stream()`. Every default is in {@link streamDefaults}. */
export interface StreamOptions {
  /** Stream name (letters, digits, `_`, `-`); subjects are `<name>.0 … <name>.<partitions-1>`. */
  name: string
  /** Partitions; a key always maps to `hash(key) % partitions`. Fixed for a stream's life. @default 1 */
  partitions?: number
  /** A message id seen again within this window is not stored twice. At most `maxAgeMs`. @default 120000 */
  duplicateWindowMs?: number
  /** `file` survives a broker restart; `memory` does not. Fixed for a stream's life. @default 'file' */
  storage?: 'file' | 'memory'
  /**
   * `limits`: messages stay until a limit removes them, acknowledged or not, so several consumers can
   * read them. `workqueue`: a message is removed once acknowledged (or terminated), so the limits bound
   * the *unconsumed* backlog — the right choice for a write buffer; one consumer per partition
   * (overlapping consumers are refused). Fixed for a stream's life. @default 'limits'
   */
  retention?: 'limits' | 'workqueue'
  /** Messages older than this are removed, consumed or not (at least 100). @default Infinity (no limit) */
  maxAgeMs?: number
  /** The most bytes the stream holds, as the broker counts them. @default Infinity (no limit) */
  maxBytes?: number
  /** The most messages the stream holds. @default Infinity (no limit) */
  maxMessages?: number
  /**
   * What a full stream (`maxBytes` or `maxMessages`) does. `new`: it refuses the publish with
   * `E_STREAM_FULL` and keeps every message it acknowledged. `old`: it deletes its oldest messages to
   * make room — consumed or not. @default 'new'
   */
  discard?: 'new' | 'old'
  /** Copies of each message on a JetStream cluster (1–5; 3 survives the loss of a node). @default 1 */
  replicas?: number
  /** Also send the key as header `hf-key` (so `msg.key` is set). Costs ~30% of publish throughput. @default false */
  keyHeader?: boolean
  /** Keep messages that failed `maxDeliveries` times in a stream `<name>_dlq` (subject `<name>_dlq.0`). @default true */
  deadLetter?: boolean
}

/** `StreamOptions` after defaults and validation. */
export interface ResolvedStreamOptions extends StreamSettings {
  readonly name: string
  readonly partitions: number
  readonly keyHeader: boolean
  readonly deadLetter: boolean
}

/** Defaults of `StreamOptions`. */
export const streamDefaults = Object.freeze({
  partitions: 1,
  duplicateWindowMs: 120_000,
  storage: 'file' as 'file' | 'memory',
  retention: 'limits' as 'limits' | 'workqueue',
  maxAgeMs: Number.POSITIVE_INFINITY,
  maxBytes: Number.POSITIVE_INFINITY,
  maxMessages: Number.POSITIVE_INFINITY,
  discard: 'new' as 'new' | 'old',
  replicas: 1,
  deadLetter: true,
  keyHeader: false,
})

/** JetStream refuses a shorter `max_age`. */
const MIN_AGE_MS = 100

/**
 * Applies `streamDefaults` and checks every option, naming the bad one.
 *
 * @example
 * resolveStreamOptions({ name: 'posts', maxBytes: 2 ** 30 }) // { …, discard: 'new', replicas: 1 }
 */
export function resolveStreamOptions(options: StreamOptions): ResolvedStreamOptions {
  const o = { ...streamDefaults, ...stripUndefined(options ?? ({} as StreamOptions)) }
  if (typeof o.name !== 'string' || !NAME.test(o.name)) invalid('options.name must match /^[A-Za-z0-9_-]+$/')
  if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > 1024) {
    invalid('options.partitions must be an integer in 1…1024')
  }
  if (!Number.isInteger(o.duplicateWindowMs) || o.duplicateWindowMs < 1) {
    invalid('options.duplicateWindowMs must be a positive integer')
  }
  oneOf(o.storage, ['file', 'memory'], 'options.storage')
  oneOf(o.retention, ['limits', 'workqueue'], 'options.retention')
  oneOf(o.discard, ['new', 'old'], 'options.discard')
  limit(o.maxAgeMs, MIN_AGE_MS, 'options.maxAgeMs')
  limit(o.maxBytes, 1, 'options.maxBytes')
  limit(o.maxMessages, 1, 'options.maxMessages')
  if (o.duplicateWindowMs > o.maxAgeMs) invalid('options.duplicateWindowMs must not exceed options.maxAgeMs')
  if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > 5) {
    invalid('options.replicas must be an integer in 1…5')
  }
  if (typeof o.keyHeader !== 'boolean') invalid('options.keyHeader must be a boolean')
  if (typeof o.deadLetter !== 'boolean') invalid('options.deadLetter must be a boolean')
  return Object.freeze(o as ResolvedStreamOptions) // name checked above
}

/**
 * `storage` and `retention` cannot change on a live stream (JetStream refuses it). A stream that exists
 * with others is refused, naming both, rather than left as it is: a memory stream where file storage
 * was asked for would lose on a broker restart what it acknowledged. Drivers call this on open.
 */
export function checkFixedSettings(
  spec: StreamSpec,
  existing: Pick<StreamSettings, 'storage' | 'retention'>,
): void {
  for (const option of ['storage', 'retention'] as const) {
    if (existing[option] === spec[option]) continue
    throw new QueueError(
      'E_INVALID_OPTION',
      `options.${option} is '${spec[option]}' but stream ${spec.name} exists with '${existing[option]}', ` +
        'which cannot change on a live stream: let its consumers finish, delete it, and create it again',
      { context: { stream: spec.name, option, requested: spec[option], existing: existing[option] } },
    )
  }
}

const NAME = /^[A-Za-z0-9_-]+$/

function limit(value: number, min: number, name: string): void {
  if (value === Number.POSITIVE_INFINITY) return
  if (!Number.isSafeInteger(value) || value < min) {
    invalid(`${name} must be an integer ≥ ${min}, or Infinity for no limit`)
  }
}

function oneOf(value: unknown, allowed: readonly string[], name: string): void {
  if (!allowed.includes(value as string))
    invalid(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}`)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(message: string): never {
  throw new QueueError('E_INVALID_OPTION', message)
}
