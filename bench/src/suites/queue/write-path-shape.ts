/** The shape of the write-path steps: rates, windows, sampling and patience. */
export interface WritePathShape {
  /** Open-loop compose rate of the fan-out step, posts/s (the 1,000). */
  fanoutRate: number
  /** Watch every n-th 202 of the fan-out window. */
  sampleEvery: number
  /** First pause between two polls of a sample, ms. */
  pollMs: number
  /** A sample not visible after this long counts as `not_visible`. */
  maxWaitMs: number
  /** Length of the burst, ms. */
  burstMs: number
  /** Give up waiting for a backlog to drain after this long, ms. */
  drainTimeoutMs: number
}

/** Full run. */
export const FULL_SHAPE: Readonly<WritePathShape> = Object.freeze({
  fanoutRate: 1000,
  sampleEvery: 5,
  pollMs: 2,
  maxWaitMs: 30_000,
  burstMs: 5000,
  drainTimeoutMs: 180_000,
})

/** `--smoke`: a few seconds per step. */
export const SMOKE_SHAPE: Readonly<WritePathShape> = Object.freeze({
  fanoutRate: 200,
  sampleEvery: 2,
  pollMs: 2,
  maxWaitMs: 10_000,
  burstMs: 1000,
  drainTimeoutMs: 30_000,
})

/** A smoke run loads a small generated graph instead of socfb-Reed98 (whose load takes minutes). */
export const SMOKE_GRAPH = Object.freeze({ users: 100, edges: 600, maxPostsPerUser: 2 })
/** The burst offers this many times the synchronous compose MST. */
export const BURST_FACTOR = 10
/** The SLO of the synchronous compose MST: p99 ≤ 50 ms. */
export const SLO_MS = 50
