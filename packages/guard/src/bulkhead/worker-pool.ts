import type { Registry } from '@hundredfold/metrics'
import { checkPositiveInteger, invalid, withDefaults } from '../concurrency/check.js'
import { abortedError, GuardError } from '../errors.js'
import { Bulkhead, type BulkheadStats } from './bulkhead.js'
import { reportPoolUtilization } from './bulkhead-metrics.js'
import { type BulkheadOptions, bulkheadDefaults } from './bulkhead-options.js'

/**
 * The subset of piscina's `Piscina` the worker-pool bulkhead uses (as kysely types the subset of pg's
 * `Pool` it needs), so the guard does not depend on piscina: a `new Piscina({ filename })` fits, and so
 * does any pool with a `run(task, { signal })`.
 */
export interface WorkerPool<Task = unknown, Result = unknown> {
  /** Runs `task` on a worker; `signal` cancels it (piscina drops a queued task, or stops its worker). */
  run(task: Task, options?: { signal?: AbortSignal | null; name?: string }): Promise<Result>
  /** Tasks queued inside the pool, waiting for a thread (piscina's `queueSize`). */
  readonly queueSize?: number
  /** How busy the pool's threads have been, 0..1 (piscina's `utilization`). */
  readonly utilization?: number
  /** piscina's options: `maxThreads` sizes the bulkhead when `maxConcurrent` is not given. */
  readonly options?: { readonly maxThreads?: number }
}

/** Options of {@link workerPoolBulkhead}: a bulkhead's, with the pool, and `maxConcurrent` optional. */
export interface WorkerPoolBulkheadOptions<Task, Result> extends Partial<BulkheadOptions> {
  /** The pool the work runs on, e.g. `new Piscina({ filename, maxThreads: 4 })`. Required. */
  pool: WorkerPool<Task, Result>
  /** Tasks running at once. @default pool.options.maxThreads */
  maxConcurrent?: number
  /** The name of the worker's exported function, as piscina's `run(task, { name })`. @default the default export */
  taskName?: string
  /** What errors, events and metrics call it. @default 'worker-pool' */
  name?: string
  /** Where to report in-flight, queue depth, queue wait and the pool's utilization. @default none */
  registry?: Registry
}

/** The defaults of {@link WorkerPoolBulkheadOptions}, beyond the bulkhead's (`bulkheadDefaults`). */
export const workerPoolBulkheadDefaults = Object.freeze({ ...bulkheadDefaults, name: 'worker-pool' })

/**
 * CPU work on a worker pool (piscina) behind a bulkhead: at most `maxConcurrent` tasks are handed to the
 * pool (one per thread), at most `maxQueued` wait here (oldest first, each for up to `queueTimeoutMs`),
 * and the next is refused at once with `E_BULKHEAD_FULL`, so the backlog never grows unseen inside the
 * pool. The caller's signal is forwarded to the pool: an abort while queued here leaves the queue, an
 * abort while running cancels the task (piscina stops its worker). Made by {@link workerPoolBulkhead}.
 */
export class WorkerPoolBulkhead<Task, Result> {
  readonly name: string
  readonly pool: WorkerPool<Task, Result>
  readonly #bulkhead: Bulkhead
  readonly #taskName: string | undefined

  constructor(options: WorkerPoolBulkheadOptions<Task, Result>) {
    const o = withDefaults(workerPoolBulkheadDefaults, options)
    const pool = o.pool as WorkerPool<Task, Result> | undefined
    if (typeof pool?.run !== 'function')
      throw invalid('options.pool', 'must have a run(task, { signal }) method', pool)
    const maxConcurrent = o.maxConcurrent ?? pool.options?.maxThreads
    if (maxConcurrent === undefined) {
      throw invalid(
        'options.maxConcurrent',
        'must be given when the pool does not tell options.maxThreads',
        undefined,
      )
    }
    checkPositiveInteger('options.maxConcurrent', maxConcurrent)
    if (o.taskName !== undefined && typeof o.taskName !== 'string') {
      throw invalid('options.taskName', 'must be a string', o.taskName)
    }
    this.pool = pool
    this.#taskName = o.taskName
    const bulkheadOptions: BulkheadOptions = {
      maxConcurrent,
      maxQueued: o.maxQueued,
      queueTimeoutMs: o.queueTimeoutMs,
      name: o.name,
      now: o.now,
    }
    if (o.registry) bulkheadOptions.registry = o.registry
    this.#bulkhead = new Bulkhead(bulkheadOptions)
    this.name = this.#bulkhead.name
    if (o.registry) reportPoolUtilization(o.registry, this.name, () => pool.utilization)
  }

  get maxConcurrent(): number {
    return this.#bulkhead.maxConcurrent
  }

  get maxQueued(): number {
    return this.#bulkhead.maxQueued
  }

  /** Tasks handed to the pool and not finished. */
  get inFlight(): number {
    return this.#bulkhead.inFlight
  }

  /** Tasks waiting here for a thread. */
  get queued(): number {
    return this.#bulkhead.queued
  }

  /** The bulkhead's counters and state. */
  stats(): BulkheadStats {
    return this.#bulkhead.stats()
  }

  /**
   * Runs `task` on the pool.
   *
   * @throws {GuardError} `E_BULKHEAD_FULL`, `E_QUEUE_TIMEOUT`, `E_ABORTED` (the pool's abort error is its
   *   `cause`); otherwise what the task throws.
   * @example
   * const thumbnail = await images.run({ path, width: 320 }, { signal: request.signal })
   */
  async run(task: Task, options: { signal?: AbortSignal } = {}): Promise<Result> {
    const { signal } = options
    try {
      return await this.#bulkhead.execute(async () => {
        const runOptions: { signal?: AbortSignal; name?: string } = {}
        if (signal) runOptions.signal = signal
        if (this.#taskName !== undefined) runOptions.name = this.#taskName
        return this.pool.run(task, runOptions)
      }, signal)
    } catch (error) {
      if (signal?.aborted && !(error instanceof GuardError)) throw abortedError(signal)
      if (isPoolQueueFull(error)) {
        // Someone else shares the pool and filled its own queue: the same answer as ours being full.
        throw new GuardError(
          'E_BULKHEAD_FULL',
          `${this.name}: the worker pool's own queue is full`,
          {
            policy: this.name,
            queued: this.pool.queueSize,
            maxQueued: this.maxQueued,
          },
          { cause: error },
        )
      }
      throw error
    }
  }
}

/**
 * Makes a {@link WorkerPoolBulkhead}. One pool per kind of work, so a flood of one kind (thumbnails)
 * cannot starve another (password hashing).
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * import { Piscina } from 'piscina'
 * const hashing = workerPoolBulkhead({
 *   name: 'argon2',
 *   pool: new Piscina({ filename: new URL('./hash-worker.mjs', import.meta.url).href, maxThreads: 2 }),
 *   maxQueued: 32,
 *   queueTimeoutMs: 500,
 *   registry,
 * })
 * const thumbnails = workerPoolBulkhead({ name: 'thumbnails', pool: thumbnailPool, maxQueued: 8, registry })
 * const hash = await hashing.run(password, { signal: request.signal })
 */
export function workerPoolBulkhead<Task, Result>(
  options: WorkerPoolBulkheadOptions<Task, Result>,
): WorkerPoolBulkhead<Task, Result> {
  return new WorkerPoolBulkhead(options)
}

/** piscina's refusal when its own `maxQueue` is reached. */
function isPoolQueueFull(error: unknown): boolean {
  return error instanceof Error && /queue is at limit/i.test(error.message)
}
