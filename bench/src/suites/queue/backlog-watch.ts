import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from '@hundredfold/queue'
import { backlogOf } from './write-queue-probe.js'

/** How a backlog evolved: readings `[ms since the watch began, messages]`, and when it emptied. */
export interface BacklogWatch {
  /** Every reading so far. */
  readonly series: ReadonlyArray<readonly [ms: number, backlog: number]>
  /**
   * Resolves at the first reading of 0 taken at or after `after` (a `performance.now()` time, e.g. the
   * last acceptance), or once `timeoutMs` has passed; then stops reading.
   */
  finish(after: number, timeoutMs: number): Promise<{ drained: boolean; at: number; peak: number }>
}

/**
 * Reads a durable consumer's backlog every `everyMs` from now on: the back-pressure gauge over a burst,
 * and the moment it drains.
 *
 * @example
 * const watch = watchBacklog(queue, 'mb_posts', 'timeline', 50, signal)
 * … burst …
 * const { at } = await watch.finish(lastAccepted, 120_000)
 */
export function watchBacklog(
  queue: Queue,
  stream: string,
  consumer: string,
  everyMs: number,
  signal: AbortSignal,
): BacklogWatch {
  const began = performance.now()
  const series: Array<readonly [number, number]> = []
  let after: number | undefined
  let deadline = Number.POSITIVE_INFINITY
  let peak = 0
  let failures = 0

  const loop = (async (): Promise<{ drained: boolean; at: number; peak: number }> => {
    for (;;) {
      try {
        const backlog = await backlogOf(queue, stream, consumer, signal)
        series.push([Math.round(performance.now() - began), backlog])
        peak = Math.max(peak, backlog)
      } catch (error) {
        if (signal.aborted || ++failures > 20) throw error
      }
      if (after !== undefined) {
        const since = after - began
        const empty = series.find(([ms, backlog]) => ms >= since && backlog === 0)
        if (empty) return { drained: true, at: began + empty[0], peak }
        if (performance.now() >= deadline) return { drained: false, at: performance.now(), peak }
      }
      await sleep(everyMs, undefined, { signal })
    }
  })()
  loop.catch(() => {}) // surfaced by finish()

  return {
    series,
    finish(afterTime, timeoutMs) {
      after = afterTime
      deadline = performance.now() + timeoutMs
      return loop
    },
  }
}
