import type { ShardRouter } from '@hundredfold/shard'
import { histogram } from './closed-loop.js'

/** The statement every writer sends: one row, one round trip, autocommit. */
export const WRITE_SQL = 'INSERT INTO {items} (id, writer, payload) VALUES ($1, $2, $3)'

/** Options of {@link startWriteLoad}. */
export interface WriteLoadOptions {
  /** Concurrent writers, each with at most one write in flight. */
  writers: number
  /** Writes per second offered by all writers together. */
  rate: number
  /** The id of the first write; each write takes the next. */
  firstId: number
  /** A write that takes longer fails (and is counted) instead of waiting on. */
  timeoutMs: number
}

/** What the writers did, when stopped. */
export interface WriteLoadFigures {
  offered_rate: number
  writes: number
  writes_per_s: number
  failures: number
  first_failures: string[]
  p50_ms: number
  p99_ms: number
  max_ms: number
  seconds: number
}

/** A running write load: `acked` grows with every committed write. */
export interface WriteLoad {
  /** Ids of the writes the database acknowledged, in the order they were acknowledged. */
  readonly acked: readonly number[]
  /** Ids of writes that failed or timed out (their rows may or may not exist). */
  readonly failed: readonly number[]
  stop(): Promise<WriteLoadFigures>
}

/**
 * Writers inserting through a router on a fixed schedule: writer `i` sends its `k`-th write at
 * `(k × writers + i) / rate` s after the start, or at once when it is behind (a write held by a
 * cutover delays that writer; it then catches up). Every acknowledged id is logged: the figure
 * lost and duplicated rows are counted against.
 */
export function startWriteLoad(router: ShardRouter, options: WriteLoadOptions): WriteLoad {
  const acked: number[] = []
  const failed: number[] = []
  const messages: string[] = []
  const latency = histogram()
  let next = options.firstId
  let running = true
  const started = performance.now()
  let stoppedAt = started
  const gap = 1000 / options.rate
  const writer = async (index: number) => {
    for (let k = 0; running; k++) {
      const due = started + (k * options.writers + index) * gap
      const wait = due - performance.now()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
      if (!running) return
      const id = next++
      const t0 = performance.now()
      try {
        await router
          .shard('items', id)
          .write(WRITE_SQL, [id, index, `write ${id}`], { signal: AbortSignal.timeout(options.timeoutMs) })
        acked.push(id)
        latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
      } catch (err) {
        failed.push(id)
        if (messages.length < 5) messages.push((err as Error).message)
      }
    }
  }
  const writers = Array.from({ length: options.writers }, (_, i) => writer(i))
  return {
    acked,
    failed,
    async stop() {
      if (running) {
        running = false
        stoppedAt = performance.now()
      }
      await Promise.all(writers)
      const seconds = (stoppedAt - started) / 1000
      const ms = (us: number) => Math.round(us / 10) / 100
      return {
        offered_rate: options.rate,
        writes: acked.length,
        writes_per_s: Math.round(acked.length / seconds),
        failures: failed.length,
        first_failures: messages,
        p50_ms: ms(latency.getValueAtPercentile(50)),
        p99_ms: ms(latency.getValueAtPercentile(99)),
        max_ms: ms(latency.maxValue),
        seconds: Math.round(seconds * 10) / 10,
      }
    },
  }
}
