import type { Bus } from './bus.js'
import { CacheError } from './errors.js'
import type { L2Store } from './l2-store.js'

/** Turns values into L2 payloads and back. */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

/** Options of `createCache`. Every default is in `cacheDefaults`. */
export interface CacheOptions {
  /** The shared tier: `redisStore(...)` or `memoryStore()`. @default memoryStore() */
  l2?: L2Store
  /** Carries invalidations to other nodes' L1: `redisBus(...)` or `memoryBus()`. @default none (one node) */
  bus?: Bus
  /** This node's name on the bus (its own messages are skipped). @default a random id */
  nodeId?: string
  /** How long a loaded value is fresh. @default 60_000 */
  ttlMs?: number
  /** Each TTL is shortened by up to this share, at random, so keys loaded together expire apart. @default 0.1 */
  jitter?: number
  /** After its TTL, a value may still be served while one caller holds the lease and reloads it. @default 10_000 */
  graceMs?: number
  /** How long a miss (the loader returned `undefined`) is remembered. @default 5_000 */
  negativeTtlMs?: number
  /** L1 entries, or `false` for no L1. @default 10_000 */
  l1Max?: number | false
  /** How long an L1 entry lives: the bound on staleness if an invalidation is lost. @default 5_000 */
  l1TtlMs?: number
  /** How long a lease lives if its holder never fills it. @default 5_000 */
  leaseMs?: number
  /** How long a caller waits on someone else's lease before loading itself (without storing). @default 1_000 */
  leaseWaitMs?: number
  /** An L2 call slower than this fails and counts towards the breaker. @default 250 */
  l2TimeoutMs?: number
  /** Consecutive L2 failures that open the breaker. @default 3 */
  breakerThreshold?: number
  /** How long the breaker stays open before probing L2. @default 1_000 */
  breakerCooldownMs?: number
  /** Concurrent loader calls while L2 is cut off. @default 16 */
  fallbackConcurrency?: number
  /**
   * Deletes kept for replay while L2 is cut off. Beyond, the oldest are dropped: each is counted
   * (`stats().droppedDeletes`) and L2 is distrusted until `resync()` or until every value it could
   * hold from before has expired. @default 100_000
   */
  maxPendingDeletes?: number
  /** @default JSON */
  serializer?: Serializer
  /** Told of L2 and bus errors, which never reach readers. @default ignore */
  onError?: (error: unknown) => void
}

export type ResolvedCacheOptions = Readonly<
  Required<Omit<CacheOptions, 'l2' | 'bus' | 'nodeId' | 'onError'>> &
    Pick<CacheOptions, 'l2' | 'bus' | 'nodeId' | 'onError'>
>

const json: Serializer = {
  serialize: (value) => JSON.stringify(value),
  deserialize: (text) => JSON.parse(text),
}

/** The defaults of `CacheOptions`. */
export const cacheDefaults = Object.freeze({
  ttlMs: 60_000,
  jitter: 0.1,
  graceMs: 10_000,
  negativeTtlMs: 5_000,
  l1Max: 10_000 as number | false,
  l1TtlMs: 5_000,
  leaseMs: 5_000,
  leaseWaitMs: 1_000,
  l2TimeoutMs: 250,
  breakerThreshold: 3,
  breakerCooldownMs: 1_000,
  fallbackConcurrency: 16,
  maxPendingDeletes: 100_000,
  serializer: json,
})

/** Applies defaults and checks every option, naming the bad one. */
export function resolveOptions(options: CacheOptions): ResolvedCacheOptions {
  const resolved = { ...cacheDefaults, ...stripUndefined(options) }
  const positive = [
    'ttlMs',
    'l1TtlMs',
    'leaseMs',
    'l2TimeoutMs',
    'breakerCooldownMs',
    'negativeTtlMs',
  ] as const
  for (const name of positive) {
    const value = resolved[name]
    if (!Number.isFinite(value) || value <= 0) throw invalid(`options.${name} must be a positive number`)
  }
  for (const name of ['graceMs', 'leaseWaitMs'] as const) {
    const value = resolved[name]
    if (!Number.isFinite(value) || value < 0) throw invalid(`options.${name} must be a number ≥ 0`)
  }
  if (!(resolved.jitter >= 0 && resolved.jitter < 1)) throw invalid('options.jitter must be in [0, 1)')
  for (const name of ['breakerThreshold', 'fallbackConcurrency', 'maxPendingDeletes'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] < 1) {
      throw invalid(`options.${name} must be a positive integer`)
    }
  }
  if (resolved.l1Max !== false && (!Number.isInteger(resolved.l1Max) || resolved.l1Max < 1)) {
    throw invalid('options.l1Max must be a positive integer or false')
  }
  return Object.freeze(resolved)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(message: string): CacheError {
  return new CacheError('E_INVALID_OPTION', message)
}
