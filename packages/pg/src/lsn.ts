import { PgError } from './errors.js'

/** Parses a PostgreSQL LSN (`16/B374D848`) into a comparable bigint. */
export function parseLsn(lsn: string): bigint {
  const slash = lsn.indexOf('/')
  if (slash <= 0 || !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(lsn)) {
    throw new PgError('E_INVALID_TOKEN', `'${lsn}' is not a consistency token (a WAL LSN like 0/3000148)`, {
      context: { token: lsn },
    })
  }
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`)
}

/** Formats a bigint LSN back to PostgreSQL's text form. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`
}
