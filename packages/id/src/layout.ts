// The Snowflake bit layout, most significant first:
//   1 bit unused (always 0, so ids stay positive in a signed 64-bit BIGINT)
//   41 bits milliseconds since the epoch
//   10 bits worker id
//   12 bits sequence within the millisecond

/**
 * Bits of the millisecond timestamp (relative to the epoch): 2^41 ms ≈ 69.7 years.
 * @example
 * const years = 2 ** TIMESTAMP_BITS / 3.156e10 // ≈ 69.7
 */
export const TIMESTAMP_BITS = 41
/**
 * Bits of the worker id: 1024 workers.
 * @example
 * const workers = 2 ** WORKER_ID_BITS // 1024
 */
export const WORKER_ID_BITS = 10
/**
 * Bits of the per-millisecond sequence: 4096 ids per worker per millisecond.
 * @example
 * const perSecond = 2 ** SEQUENCE_BITS * 1000 // 4,096,000 ids/s per worker
 */
export const SEQUENCE_BITS = 12

/**
 * Largest worker id, 1023.
 * @example
 * const workerId = Number(process.env.WORKER_ID) % (MAX_WORKER_ID + 1)
 */
export const MAX_WORKER_ID = 2 ** WORKER_ID_BITS - 1
/**
 * Largest sequence number, 4095.
 * @example
 * decode(id).sequence <= MAX_SEQUENCE // true
 */
export const MAX_SEQUENCE = 2 ** SEQUENCE_BITS - 1
/**
 * Largest timestamp relative to the epoch, 2^41 - 1 ms (with the default epoch: 2093-09-06).
 * @example
 * new Date(DEFAULT_EPOCH + MAX_TIMESTAMP).toISOString() // '2093-09-06T15:47:35.551Z'
 */
export const MAX_TIMESTAMP = 2 ** TIMESTAMP_BITS - 1
/**
 * Largest id the layout (and a signed 64-bit column) can hold, 2^63 - 1.
 * @example
 * MAX_ID.toString() // '9223372036854775807'
 */
export const MAX_ID = (1n << 63n) - 1n

/**
 * Shift of the worker id within an id.
 * @example
 * const workerId = Number(id >> BigInt(WORKER_ID_SHIFT)) & MAX_WORKER_ID
 */
export const WORKER_ID_SHIFT = SEQUENCE_BITS
/**
 * Shift of the timestamp within an id.
 * @example
 * const lowestIdAt = (unixMs: number) => BigInt(unixMs - DEFAULT_EPOCH) << BigInt(TIMESTAMP_SHIFT)
 */
export const TIMESTAMP_SHIFT = WORKER_ID_BITS + SEQUENCE_BITS

/**
 * The default epoch, 2024-01-01T00:00:00Z in unix ms. Ids from generators with different epochs are not
 * comparable, so a system picks one epoch and never changes it.
 *
 * @example
 * new Date(DEFAULT_EPOCH).toISOString() // '2024-01-01T00:00:00.000Z'
 */
export const DEFAULT_EPOCH = 1_704_067_200_000
