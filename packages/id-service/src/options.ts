import { IdError, type Snowflake, type WorkerLease } from '@hundredfold/id'
import type { Registry } from '@hundredfold/metrics'

/** The subset of a pino logger the service uses. */
export interface IdServiceLogger {
  error(object: object, message?: string): void
}

/** Options of `createIdService`. Every default is in {@link idServiceDefaults}. */
export interface IdServiceOptions {
  /** The generator to serve: `lease.generator()`, or a fixed worker id's `new Snowflake(...)`. Required. */
  generator: Snowflake
  /** The lease behind the generator: readiness follows it, and `/readyz` shows it. */
  lease?: WorkerLease
  /** Where the service's metrics go (`GET /metrics` renders it). @default a new Registry with the default process metrics, prefixed `id_service_` */
  registry?: Registry
  /** Largest `count` of `GET /ids`. @default 10_000 */
  maxCount?: number
  /** Largest request head in bytes; a larger one is answered 431 `E_HEADERS_TOO_LARGE`. @default 16_384 (node:http's) */
  maxHeaderSize?: number
  /** A request head must be complete this long after the connection (or the previous request) started sending it, else 408 (slowloris). @default 10_000 */
  headersTimeoutMs?: number
  /** A whole request must arrive within this long, else 408. At least `headersTimeoutMs`. @default 30_000 */
  requestTimeoutMs?: number
  /** An idle keep-alive connection is closed after this long (above common load balancers' 60 s, so that they close first). @default 72_000 */
  keepAliveTimeoutMs?: number
  /** `close()` destroys connections still open this long after it was called. @default 5_000 */
  closeTimeoutMs?: number
  /** Told about unexpected errors (answered 500 `E_INTERNAL`). @default silent */
  logger?: IdServiceLogger
}

/** {@link IdServiceOptions} with every default applied, validated and frozen. */
export type ResolvedIdServiceOptions = Readonly<
  Required<Omit<IdServiceOptions, 'lease' | 'registry' | 'logger'>> &
    Pick<IdServiceOptions, 'lease' | 'registry' | 'logger'>
>

/** The defaults of {@link IdServiceOptions}. */
export const idServiceDefaults = Object.freeze({
  maxCount: 10_000,
  maxHeaderSize: 16_384,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  closeTimeoutMs: 5_000,
})

/** The integer options and their ranges. */
const RANGES: Readonly<Record<keyof typeof idServiceDefaults, readonly [number, number]>> = Object.freeze({
  maxCount: [1, 1_000_000],
  maxHeaderSize: [1024, 1_048_576],
  headersTimeoutMs: [1, 3_600_000],
  requestTimeoutMs: [1, 3_600_000],
  keepAliveTimeoutMs: [1, 3_600_000],
  closeTimeoutMs: [0, 3_600_000],
})

/**
 * Applies {@link idServiceDefaults} and checks every option eagerly; the message names the bad one.
 *
 * @throws {IdError} `E_INVALID_OPTION`, e.g. `options.maxCount must be an integer in 1..1000000`.
 * @example
 * const resolved = resolveIdServiceOptions({ generator: new Snowflake({ workerId: 1 }), maxCount: 100 })
 */
export function resolveIdServiceOptions(options: IdServiceOptions): ResolvedIdServiceOptions {
  if (!options || typeof options.generator?.nextStringBatch !== 'function') {
    throw invalid('options.generator', 'must be a Snowflake', options?.generator)
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
  const resolved = { ...idServiceDefaults, ...defined } as IdServiceOptions & typeof idServiceDefaults
  for (const [name, [min, max]] of Object.entries(RANGES)) {
    const value = resolved[name as keyof typeof RANGES]
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(`options.${name}`, `must be an integer in ${min}..${max}`, value)
    }
  }
  if (resolved.requestTimeoutMs < resolved.headersTimeoutMs) {
    throw invalid(
      'options.requestTimeoutMs',
      'must be at least options.headersTimeoutMs',
      resolved.requestTimeoutMs,
    )
  }
  if (resolved.logger !== undefined && typeof resolved.logger.error !== 'function') {
    throw invalid('options.logger', 'must have an error(object, message) method', resolved.logger)
  }
  return Object.freeze(resolved)
}

function invalid(option: string, what: string, value: unknown): IdError {
  return new IdError('E_INVALID_OPTION', `${option} ${what}`, { option, value })
}
