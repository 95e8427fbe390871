import { IdError } from './errors.js'
import {
  DEFAULT_EPOCH,
  MAX_ID,
  MAX_SEQUENCE,
  MAX_WORKER_ID,
  TIMESTAMP_SHIFT,
  WORKER_ID_SHIFT,
} from './layout.js'
import { checkEpoch } from './validate.js'

/** Options of {@link decode}. */
export interface DecodeOptions {
  /**
   * The epoch the id was generated with, in unix ms.
   * @default DEFAULT_EPOCH (2024-01-01T00:00:00Z)
   */
  epoch?: number
}

/** The parts of a Snowflake id. */
export interface DecodedId {
  /** The id in canonical decimal form. */
  id: string
  /** When it was issued, in unix ms. */
  timestamp: number
  /** `timestamp` as a Date. */
  date: Date
  /** The worker that issued it, 0..1023. */
  workerId: number
  /** Its sequence within the millisecond, 0..4095. */
  sequence: number
}

const MAX_ID_STRING = MAX_ID.toString()
// Canonical decimal: no sign, no leading zeros (so one id has one URL and one cache key), 1..19 digits.
const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/

/**
 * Parses an id from untrusted text, such as a URL segment: a canonical decimal string of 1..19 digits
 * (no sign, spaces or leading zeros) no greater than 2^63 - 1.
 *
 * @throws {IdError} `E_INVALID_ID` with the rejected `value`.
 * @example
 * parseId('187535720448028672') // 187535720448028672n
 * parseId('-1')                  // throws IdError E_INVALID_ID
 */
export function parseId(value: string): bigint {
  if (
    typeof value !== 'string' ||
    !DECIMAL.test(value) ||
    (value.length === MAX_ID_STRING.length && value > MAX_ID_STRING)
  ) {
    throw new IdError(
      'E_INVALID_ID',
      `id must be a decimal string of 1..19 digits without sign or leading zeros, at most ${MAX_ID_STRING}`,
      { value },
    )
  }
  return BigInt(value)
}

/**
 * Splits an id into its timestamp, worker id and sequence.
 *
 * @throws {IdError} `E_INVALID_ID` for a string {@link parseId} rejects or a bigint outside 0..2^63-1;
 *   `E_INVALID_OPTION` for a bad `options.epoch`.
 * @example
 * const { date, workerId, sequence } = decode('187535720448028672')
 * decode(id, { epoch: Date.UTC(2020, 0, 1) }) // ids from a generator with a custom epoch
 */
export function decode(id: bigint | string, options: DecodeOptions = {}): DecodedId {
  const epoch = options.epoch === undefined ? DEFAULT_EPOCH : checkEpoch(options.epoch, 'options.epoch')
  let value: bigint
  if (typeof id === 'bigint') {
    if (id < 0n || id > MAX_ID) {
      throw new IdError('E_INVALID_ID', `id must be in 0..${MAX_ID_STRING}`, { value: id })
    }
    value = id
  } else {
    value = parseId(id)
  }
  // The low 22 bits fit a double exactly, so worker and sequence come out with plain number operations.
  const low = Number(value & 0x3f_ffffn)
  const timestamp = Number(value >> BigInt(TIMESTAMP_SHIFT)) + epoch
  return {
    id: value.toString(),
    timestamp,
    date: new Date(timestamp),
    workerId: (low >>> WORKER_ID_SHIFT) & MAX_WORKER_ID,
    sequence: low & MAX_SEQUENCE,
  }
}
