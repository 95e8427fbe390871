import { formatLsn, parseLsn } from './lsn.js'

/**
 * Read-your-writes across calls, requests and processes. A session remembers the primary's WAL
 * position after each write made through it; a read made through it goes only to a replica that has
 * replayed that far, or to the primary. The token is a plain string (an LSN), so it can travel in a
 * header or cookie and be picked up by another process.
 *
 * @example
 * const session = new Session(request.headers['x-consistency-token'])
 * await cluster.write('insert …', params, { session })
 * const { rows } = await cluster.read('select …', params, { session }) // sees the insert
 * reply.header('x-consistency-token', session.token)
 */
export class Session {
  #lsn: bigint | undefined

  /** Starts from a token another call or process handed over; an invalid one throws `E_INVALID_TOKEN`. */
  constructor(token?: string) {
    if (token) this.#lsn = parseLsn(token)
  }

  /** The newest write this session has seen, as a token; undefined before any. */
  get token(): string | undefined {
    return this.#lsn === undefined ? undefined : formatLsn(this.#lsn)
  }

  /** The position reads must have reached, as a bigint. */
  get lsn(): bigint | undefined {
    return this.#lsn
  }

  /**
   * Forgets the token. The cluster does this when a token is ahead of the primary's WAL position
   * (forged, or from writes a failover lost), so the session reads normally again.
   */
  clear(): void {
    this.#lsn = undefined
  }

  /** Records a write's position (keeps the newest). */
  observe(lsn: bigint | string): void {
    const value = typeof lsn === 'string' ? parseLsn(lsn) : lsn
    if (this.#lsn === undefined || value > this.#lsn) this.#lsn = value
  }
}
