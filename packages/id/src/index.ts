export { type DecodedId, type DecodeOptions, decode, parseId } from './decode.js'
export { IdError, type IdErrorCode, type IdErrorContext } from './errors.js'
export {
  DEFAULT_EPOCH,
  MAX_ID,
  MAX_SEQUENCE,
  MAX_TIMESTAMP,
  MAX_WORKER_ID,
  SEQUENCE_BITS,
  TIMESTAMP_BITS,
  TIMESTAMP_SHIFT,
  WORKER_ID_BITS,
  WORKER_ID_SHIFT,
} from './layout.js'
export { Snowflake, type SnowflakeOptions } from './snowflake.js'
