import { performance } from 'node:perf_hooks'
import { interArrival } from '../loadgen/arrivals.js'
import type { RequestSource, RequestSpec } from '../loadgen/request.js'
import { send } from '../loadgen/send.js'
import { openSenderPool } from '../loadgen/sender-pool.js'
import { createRandom } from '../random.js'

/** One request of a drill: when it was due, when it was answered, and how. */
export interface DrillEvent {
  /** `performance.now()` of its intended send time and of its answer (or failure). */
  intended: number
  at: number
  spec: RequestSpec
  /** HTTP status, or 0 for a client-side failure. */
  status: number
  /** The status (`'200'`) or the client-side failure's code (`'ECONNRESET'`, `'timeout'`, …). */
  outcome: string
}

/** Options of {@link runDrillLoad}. */
export interface DrillLoadOptions {
  baseUrl: string
  ratePerSecond: number
  source: RequestSource
  seed: number
  /** Load before the action starts. */
  beforeMs: number
  /** Load after the action ends. */
  afterMs: number
  /** The fault (or release) the drill is about; load runs through it. */
  action: () => Promise<void>
  /** Keep-alive connections of the sender. @default 256 */
  connections?: number
  /** A request unanswered this long fails as `timeout`. @default 10000 */
  timeoutMs?: number
  /** The rate at each moment, by ms since the load began (a Poisson process of that rate); replaces `ratePerSecond`. */
  rateAt?: (elapsedMs: number) => number
}

/** What a drill's load saw. */
export interface DrillLoad {
  events: DrillEvent[]
  /** `performance.now()` when the action started and ended. */
  actionStart: number
  actionEnd: number
  /** Requests still unanswered when the load stopped (they also appear as `unfinished` events). */
  unfinished: number
  /** Reads sent a second time because their connection closed before a complete answer. */
  resends: number
}

/**
 * Sends the request source open-loop at a fixed Poisson rate from before the action until `afterMs` after
 * it, recording every request: the measurement of a drill (a restart, a kill) rather than of a rate.
 *
 * @example
 * const load = await runDrillLoad({ baseUrl, ratePerSecond: 300, source, seed: 1, beforeMs: 5000,
 *   afterMs: 5000, action: () => stack.restartApps(signal) }, signal)
 */
export async function runDrillLoad(options: DrillLoadOptions, signal: AbortSignal): Promise<DrillLoad> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const pool = openSenderPool({
    baseUrl: options.baseUrl,
    connections: options.connections ?? 256,
    timeoutMs,
  })
  const random = createRandom(options.seed)
  const fixedGap = interArrival('poisson', options.ratePerSecond, random)
  const { rateAt } = options
  const gap = rateAt
    ? () => -Math.log(1 - random.next()) * (1000 / Math.max(1e-3, rateAt(next - begun)))
    : fixedGap
  const events: DrillEvent[] = []
  const pending = new Set<{ intended: number; spec: RequestSpec }>()
  let resends = 0
  const begun = performance.now()
  let next = begun + 1
  let timer: NodeJS.Timeout | undefined
  let stopSending = (): void => {}

  const sending = new Promise<void>((resolve) => {
    stopSending = () => {
      if (timer) clearTimeout(timer)
      resolve()
    }
    const tick = (): void => {
      const now = performance.now()
      if (signal.aborted) {
        resolve()
        return
      }
      while (next <= now) {
        const intended = next
        const spec = options.source(random)
        const record = { intended, spec }
        pending.add(record)
        const answered = (error: Error | null, status: number, resent: boolean): void => {
          if (!pending.has(record)) return
          // RFC 9112 §9.3.1, as browsers do: a read whose connection closed before a complete answer goes
          // once more on a new connection. A compose never does: it may have been applied.
          if (error && !resent && spec.method === 'GET' && closedBeforeAnswer(error)) {
            resends++
            send(pool, spec, (again, againStatus) => answered(again, againStatus, true))
            return
          }
          pending.delete(record)
          events.push({
            intended,
            at: performance.now(),
            spec,
            status,
            outcome: error ? failureKey(error) : String(status),
          })
        }
        send(pool, spec, (error, status) => answered(error, status, false))
        next += gap()
      }
      timer = setTimeout(tick, Math.max(0, next - performance.now() - 0.5))
    }
    tick()
  })

  let actionStart = 0
  let actionEnd = 0
  try {
    await delay(options.beforeMs, signal)
    actionStart = performance.now()
    await options.action()
    actionEnd = performance.now()
    await delay(options.afterMs, signal)
  } finally {
    stopSending()
    await sending
  }
  // Requests sent before the stop get the timeout to finish; what is left then is unfinished.
  const deadline = performance.now() + timeoutMs + 1000
  while (pending.size > 0 && performance.now() < deadline && !signal.aborted) await delay(50, signal)
  const unfinished = pending.size
  for (const record of pending) {
    events.push({ ...record, at: performance.now(), status: 0, outcome: 'unfinished' })
  }
  pending.clear()
  await pool.destroy().catch(() => {})
  return { events, actionStart, actionEnd, unfinished, resends }
}

/** True when the request failed: a client-side error or a status outside 2xx/3xx. */
export function failed(event: DrillEvent): boolean {
  return event.status < 200 || event.status >= 400
}

/** An idempotent request (a read): the kind nginx may pass to another app when one fails. */
export function idempotent(event: DrillEvent): boolean {
  return event.spec.method === 'GET'
}

/** The connection ended before the answer did: reset, or closed by the other side. */
function closedBeforeAnswer(error: Error): boolean {
  const code = (error as { code?: unknown }).code
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE'
}

function failureKey(error: Error): string {
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string') return 'error'
  if (code.includes('TIMEOUT')) return 'timeout'
  return code
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
