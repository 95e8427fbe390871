import type { CacheTally } from '@hundredfold/cache'

/**
 * The stages a request's time is told apart by, in the order `Server-Timing` lists them. Stable: they
 * are the `stage` label of `http_stage_duration_seconds` too.
 */
export const STAGES = ['cache', 'timeline', 'db', 'antispam', 'queue', 'serialize', 'total'] as const
export type Stage = (typeof STAGES)[number]

/**
 * Where one request's time went: per stage, the summed duration of its calls (ms, `performance.now()`)
 * and what they did. Services add to it through the `timing` of the call options they already receive
 * (`request.ctx`), so it costs a few numbers on one object per request: no AsyncLocalStorage, no
 * callbacks. Stages overlap by design: a cache miss's load counts under `cache` and under `db`, and two
 * calls in parallel count twice.
 *
 * It is also the cache's `tally`: the cache adds the request's L1 hits to `l1Hits` itself.
 *
 * @example
 * const timing = new RequestTiming()
 * const start = performance.now()
 * await db.query(sql, params)
 * timing.db(start, 1)
 * reply.header('server-timing', timing.header())
 */
export class RequestTiming implements CacheTally {
  /** When the request began (its first hook). */
  readonly startedAt = performance.now()
  cacheMs = 0
  cacheCalls = 0
  /** Keys asked of the cache by reads. */
  cacheKeys = 0
  /** Keys served from L1 (counted by the cache, as the tally). */
  l1Hits = 0
  /** Keys this request's loaders loaded: cache misses. */
  cacheLoaded = 0
  /** Keys deleted (after writes). */
  cacheDeletes = 0
  timelineMs = 0
  timelineCalls = 0
  dbMs = 0
  /** Statements sent, BEGIN and COMMIT of each transaction included. */
  statements = 0
  queueMs = 0
  queuePublishes = 0
  /** Time in the antispam check: the wait for a worker thread and the check itself. */
  antispamMs = 0
  /** Antispam checks asked for, and those of them skipped (degraded, or the pool full). */
  antispamCalls = 0
  antispamSkipped = 0
  /** When serialization began (`preSerialization`); -1 while it has not. */
  serializeStartedAt = -1
  serializeMs = -1
  /** Set when the headers are written (`onSend`); -1 before. */
  totalMs = -1

  /** A cache read of `keys` keys that began at `start`. */
  cache(start: number, keys: number): void {
    this.cacheMs += performance.now() - start
    this.cacheCalls++
    this.cacheKeys += keys
  }

  /** A cache delete of `keys` keys that began at `start`. */
  cacheDelete(start: number, keys: number): void {
    this.cacheMs += performance.now() - start
    this.cacheCalls++
    this.cacheDeletes += keys
  }

  /** One call that began at `start` and sent `statements` statements. */
  db(start: number, statements: number): void {
    this.dbMs += performance.now() - start
    this.statements += statements
  }

  /** One home-timeline store call (Redis) that began at `start`. */
  timeline(start: number): void {
    this.timelineMs += performance.now() - start
    this.timelineCalls++
  }

  /** One publish (with its retries) that began at `start`. */
  queue(start: number): void {
    this.queueMs += performance.now() - start
    this.queuePublishes++
  }

  /** One antispam check that began at `start`; `checked` false when it was skipped. */
  antispam(start: number, checked: boolean): void {
    this.antispamMs += performance.now() - start
    this.antispamCalls++
    if (!checked) this.antispamSkipped++
  }

  /** Serialization ended and the headers are about to be written: fixes `serialize` and `total`. */
  finish(): void {
    const now = performance.now()
    if (this.serializeStartedAt >= 0) this.serializeMs = now - this.serializeStartedAt
    this.totalMs = now - this.startedAt
  }

  /** A stage's summed duration in ms, or -1 when the request did not use it. */
  stageMs(stage: Stage): number {
    switch (stage) {
      case 'cache':
        return this.cacheCalls > 0 ? this.cacheMs : -1
      case 'timeline':
        return this.timelineCalls > 0 ? this.timelineMs : -1
      case 'db':
        return this.statements > 0 ? this.dbMs : -1
      case 'antispam':
        return this.antispamCalls > 0 ? this.antispamMs : -1
      case 'queue':
        return this.queuePublishes > 0 ? this.queueMs : -1
      case 'serialize':
        return this.serializeMs
      case 'total':
        return this.totalMs
    }
  }

  /**
   * The `Server-Timing` value (W3C): each stage used, `dur` in ms with up to 3 decimals, `desc` where
   * there is something to count. `cache`'s desc: keys from L1, from L2 (or a fetch another request had
   * in flight), loaded (`miss`), and `del` when it deleted any.
   */
  header(): string {
    let out = ''
    for (const stage of STAGES) {
      const ms = this.stageMs(stage)
      if (ms < 0) continue
      if (out !== '') out += ', '
      out += `${stage};dur=${Math.round(ms * 1000) / 1000}`
      const desc = this.#desc(stage)
      if (desc !== '') out += `;desc="${desc}"`
    }
    return out
  }

  #desc(stage: Stage): string {
    switch (stage) {
      case 'cache': {
        const l2 = Math.max(0, this.cacheKeys - this.l1Hits - this.cacheLoaded)
        const del = this.cacheDeletes > 0 ? ` del=${this.cacheDeletes}` : ''
        return `l1=${this.l1Hits} l2=${l2} miss=${this.cacheLoaded}${del}`
      }
      case 'timeline':
        return plural(this.timelineCalls, 'call', 'calls')
      case 'db':
        return plural(this.statements, 'statement', 'statements')
      case 'queue':
        return plural(this.queuePublishes, 'publish', 'publishes')
      case 'antispam':
        return this.antispamSkipped > 0 ? `${this.antispamSkipped} skipped` : ''
      default:
        return ''
    }
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * `work`, adding the time from `start` until it settles to the request's `timeline` or `queue` stage.
 * Take `start` before starting the work: `timed(options.timing, 'queue', performance.now(), publish())`.
 * Without a timing (off, or work outside a request) it is `work` itself.
 */
export function timed<T>(
  timing: RequestTiming | undefined,
  stage: 'timeline' | 'queue',
  start: number,
  work: Promise<T>,
): Promise<T> {
  return timing === undefined ? work : settle(timing, stage, start, work)
}

async function settle<T>(
  timing: RequestTiming,
  stage: 'timeline' | 'queue',
  start: number,
  work: Promise<T>,
): Promise<T> {
  try {
    return await work
  } finally {
    if (stage === 'timeline') timing.timeline(start)
    else timing.queue(start)
  }
}
