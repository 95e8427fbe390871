import type { Host } from './host.js'
import { parseLsn } from './lsn.js'

/** The primary's current WAL insert position: where the newest write's token points. */
export const positionSql = 'SELECT pg_current_wal_insert_lsn()::text AS lsn'

/**
 * What a cluster knows of its primary's WAL position beyond the probe — from its own writes, and
 * from asking — so that a session token ahead of it (forged, or from writes a failover lost) is told
 * apart from a genuine one at the cost of at most one primary round trip per read.
 */
export class PrimaryPosition {
  #known = 0n
  #tokensAhead = 0

  /** Reads whose token was found ahead of the primary. */
  get tokensAhead(): number {
    return this.#tokensAhead
  }

  /** Records a position the primary has reached (a write's). */
  note(lsn: bigint): void {
    if (lsn > this.#known) this.#known = lsn
  }

  /** Forgets what was known: positions of a former primary say nothing about the new one. */
  reset(): void {
    this.#known = 0n
  }

  /**
   * Whether `need` is ahead of everything `primary` has written. Asks the primary only when `need`
   * is past every position known here, so genuine tokens from this process cost nothing. When the
   * primary cannot be asked, the token is trusted (as before). Counts the tokens found ahead.
   */
  async isAhead(primary: Host, need: bigint, signal: AbortSignal | undefined): Promise<boolean> {
    if (need <= this.#known || (primary.lsn !== undefined && need <= primary.lsn)) return false
    let position: bigint
    try {
      const conn = await primary.pool.acquire(signal)
      try {
        const { rows } = await conn.query<{ lsn: string }>(positionSql, [], { signal })
        position = parseLsn(rows[0]!.lsn)
      } finally {
        primary.pool.release(conn, conn.broken)
      }
    } catch (err) {
      if (signal?.aborted) throw err
      return false
    }
    this.note(position)
    if (need <= position) return false
    this.#tokensAhead++
    return true
  }
}
