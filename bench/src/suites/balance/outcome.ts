/** How one request of the measured run ended. */
export interface RequestEnd {
  /** HTTP status, or 0 when the client failed. */
  status: number
  /** The client's failure, when there was one. */
  error?: unknown
  /** From the request's intended send time to the end of its body (or its failure), in ms. */
  latencyMs: number
  /** True when the request's own deadline aborted it. */
  deadlineHit: boolean
}

/**
 * The request's outcome key: `ok` (2xx within `successMs` of its intended send time), `late` (2xx, but
 * later), the status of any other answer (`503`), or the kind of client failure: `deadline` (aborted by its
 * own deadline), `ECONNREFUSED`, `socket` (reset or closed mid-request), `timeout` (undici's own timers),
 * else the error's `code` (or `error`).
 *
 * @example
 * classify({ status: 200, latencyMs: 1200, deadlineHit: false }, 1000) // 'late'
 */
export function classify(end: RequestEnd, successMs: number): string {
  if (end.deadlineHit) return 'deadline'
  if (end.error !== undefined) return errorKind(end.error)
  if (end.status < 200 || end.status >= 300) return String(end.status)
  return end.latencyMs <= successMs ? 'ok' : 'late'
}

/** A stable short key for a client-side failure, looking through `cause` chains for a `code`. */
export function errorKind(error: unknown): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') {
      if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') return 'socket'
      if (code.includes('TIMEOUT')) return 'timeout'
      return code
    }
    current = (current as { cause?: unknown }).cause
  }
  return 'error'
}
