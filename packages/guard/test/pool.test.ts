import { Worker } from 'node:worker_threads'
import { Registry } from '@hundredfold/metrics'
import type { Piscina as PiscinaPool } from 'piscina'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type WorkerPool, workerPoolBulkhead } from '../src/bulkhead/worker-pool.js'
import type { GuardError } from '../src/errors.js'

const fixture = new URL('./fixtures/cpu-task.mjs', import.meta.url)

type Task = { n: number }

/** A pool whose tasks finish when the test says so; it records what it was handed. */
function controlledPool(maxThreads: number) {
  const started: { task: Task; signal: AbortSignal | undefined; finish: (value: number) => void }[] = []
  const pool: WorkerPool<Task, number> & { utilization: number } = {
    options: { maxThreads },
    queueSize: 0,
    utilization: 0.25,
    run(task, options) {
      return new Promise<number>((resolve, reject) => {
        const signal = options?.signal ?? undefined
        signal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        )
        started.push({ task, signal, finish: resolve })
      })
    },
  }
  return { pool, started }
}

/**
 * A minimal real worker pool: one worker thread per task, terminated on abort. Stands in for piscina (not
 * installed here) to run real CPU work through the same structural interface.
 */
function threadPerTaskPool(maxThreads: number): WorkerPool<Task, number> {
  return {
    options: { maxThreads },
    run(task, options) {
      return new Promise<number>((resolve, reject) => {
        const worker = new Worker(fixture, { workerData: { standalone: true, task } })
        const signal = options?.signal ?? undefined
        const onAbort = () => {
          void worker.terminate()
          reject(Object.assign(new Error('The task has been aborted'), { name: 'AbortError' }))
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        worker.once('message', (value: number) => {
          signal?.removeEventListener('abort', onAbort)
          void worker.terminate()
          resolve(value)
        })
        worker.once('error', reject)
      })
    },
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('workerPoolBulkhead', () => {
  it("hands at most the pool's maxThreads tasks to it, queues maxQueued, and refuses the next with E_BULKHEAD_FULL", async () => {
    const { pool, started } = controlledPool(2)
    const cpu = workerPoolBulkhead({ name: 'cpu', pool, maxQueued: 1 })
    expect(cpu.maxConcurrent).toBe(2)
    const runs = [1, 2, 3].map((n) => cpu.run({ n }))
    await flush()
    expect(started.map((s) => s.task.n)).toEqual([1, 2])
    expect(cpu.queued).toBe(1)

    await expect(cpu.run({ n: 4 })).rejects.toMatchObject({
      code: 'E_BULKHEAD_FULL',
      policy: 'cpu',
      queued: 1,
      maxQueued: 1,
    })

    started[0]!.finish(10)
    await flush()
    expect(started.map((s) => s.task.n)).toEqual([1, 2, 3]) // the queued task got the freed thread
    started[1]!.finish(20)
    started[2]!.finish(30)
    await expect(Promise.all(runs)).resolves.toEqual([10, 20, 30])
    expect(cpu.stats()).toMatchObject({ inFlight: 0, queued: 0, admitted: 3, full: 1 })
  })

  it('an abort while queued leaves the queue and never reaches the pool', async () => {
    const { pool, started } = controlledPool(1)
    const cpu = workerPoolBulkhead({ pool, maxQueued: 2 })
    const first = cpu.run({ n: 1 })
    const controller = new AbortController()
    const queued = cpu.run({ n: 2 }, { signal: controller.signal })
    controller.abort()
    await expect(queued).rejects.toMatchObject({ code: 'E_ABORTED' })
    expect(cpu.queued).toBe(0)
    started[0]!.finish(1)
    await first
    expect(started).toHaveLength(1)
  })

  it("forwards the caller's signal to the pool, and answers E_ABORTED with the pool's error as cause", async () => {
    const { pool, started } = controlledPool(1)
    const cpu = workerPoolBulkhead({ pool })
    const controller = new AbortController()
    const running = cpu.run({ n: 1 }, { signal: controller.signal })
    await flush()
    expect(started[0]!.signal).toBe(controller.signal)
    controller.abort(new Error('client gone'))
    const error = (await running.catch((e: unknown) => e)) as GuardError
    expect(error.code).toBe('E_ABORTED')
    expect(error.cause).toEqual(new Error('client gone'))
    expect(cpu.inFlight).toBe(0)
  })

  it('fails a task that waited queueTimeoutMs with E_QUEUE_TIMEOUT', async () => {
    vi.useFakeTimers()
    const { pool, started } = controlledPool(1)
    const cpu = workerPoolBulkhead({ pool, maxQueued: 1, queueTimeoutMs: 100, now: () => Date.now() })
    const first = cpu.run({ n: 1 })
    const late = cpu.run({ n: 2 })
    const outcome = expect(late).rejects.toMatchObject({ code: 'E_QUEUE_TIMEOUT', waitedMs: 100 })
    await vi.advanceTimersByTimeAsync(100)
    await outcome
    started[0]!.finish(1)
    await first
  })

  it("answers E_BULKHEAD_FULL when the pool's own queue is at its limit (a pool shared with others)", async () => {
    const pool: WorkerPool<Task, number> = {
      run: () => Promise.reject(new Error('Task queue is at limit')),
      queueSize: 16,
    }
    const cpu = workerPoolBulkhead({ pool, maxConcurrent: 4 })
    await expect(cpu.run({ n: 1 })).rejects.toMatchObject({ code: 'E_BULKHEAD_FULL', queued: 16 })
  })

  it("reports queue depth, in-flight tasks, waits and the pool's utilization on a registry", async () => {
    const registry = new Registry()
    const { pool, started } = controlledPool(1)
    const cpu = workerPoolBulkhead({ name: 'thumbnails', pool, maxQueued: 4, registry })
    const runs = [cpu.run({ n: 1 }), cpu.run({ n: 2 })]
    await flush()
    const text = registry.metrics()
    expect(text).toContain('hundredfold_guard_bulkhead_in_flight{policy="thumbnails"} 1')
    expect(text).toContain('hundredfold_guard_bulkhead_queued{policy="thumbnails"} 1')
    expect(text).toContain('hundredfold_guard_pool_utilization{policy="thumbnails"} 0.25')
    started[0]!.finish(1)
    await flush()
    started[1]!.finish(2)
    await Promise.all(runs)
    expect(registry.metrics()).toContain('hundredfold_guard_queue_wait_seconds_count{policy="thumbnails"} 2')
  })

  it('keeps one pool per kind of work: a full one does not refuse the other', async () => {
    const thumbnails = controlledPool(1)
    const hashing = controlledPool(1)
    const thumbs = workerPoolBulkhead({ name: 'thumbnails', pool: thumbnails.pool })
    const hashes = workerPoolBulkhead({ name: 'argon2', pool: hashing.pool })
    const busy = thumbs.run({ n: 1 })
    await expect(thumbs.run({ n: 2 })).rejects.toMatchObject({
      code: 'E_BULKHEAD_FULL',
      policy: 'thumbnails',
    })
    const hash = hashes.run({ n: 3 })
    await flush()
    hashing.started[0]!.finish(3)
    await expect(hash).resolves.toBe(3)
    thumbnails.started[0]!.finish(1)
    await busy
  })

  it('rejects bad options, naming them', () => {
    const run = async () => 1
    for (const [options, option] of [
      [{ pool: {} }, 'options.pool'],
      [{ pool: { run } }, 'options.maxConcurrent'],
      [{ pool: { run, options: { maxThreads: 0 } } }, 'options.maxConcurrent'],
      [{ pool: { run }, maxConcurrent: 2, maxQueued: -1 }, 'options.maxQueued'],
    ] as const) {
      expect(() => workerPoolBulkhead(options as never)).toThrow(expect.objectContaining({ option }))
    }
  })

  describe('on real worker threads', () => {
    it('runs CPU tasks, and refuses with E_BULKHEAD_FULL while every thread is busy and the queue is full', async () => {
      const cpu = workerPoolBulkhead({ pool: threadPerTaskPool(2), maxQueued: 1 })
      const runs = [cpu.run({ n: 2_000_000 }), cpu.run({ n: 2_000_000 }), cpu.run({ n: 1_000 })]
      await expect(cpu.run({ n: 1 })).rejects.toMatchObject({ code: 'E_BULKHEAD_FULL' })
      const results = await Promise.all(runs)
      expect(results[2]).toBe(21_066)
      expect(cpu.stats()).toMatchObject({ inFlight: 0, admitted: 3, full: 1 })
    })

    it('stops a running task on abort', async () => {
      const cpu = workerPoolBulkhead({ pool: threadPerTaskPool(1) })
      const controller = new AbortController()
      const running = cpu.run({ n: 5_000_000_000 }, { signal: controller.signal })
      setImmediate(() => controller.abort())
      await expect(running).rejects.toMatchObject({ code: 'E_ABORTED' })
      expect(cpu.inFlight).toBe(0)
    })
  })

  describe('with piscina', async () => {
    const piscina = await import('piscina' as string).catch(() => undefined)
    it.skipIf(!piscina)(
      'runs on a Piscina pool and answers E_BULKHEAD_FULL with its queue full',
      async () => {
        const Piscina = piscina.Piscina ?? piscina.default
        // Typed as piscina's own class: it must fit the structural WorkerPool interface as it is.
        const pool: PiscinaPool = new Piscina({ filename: fixture.href, maxThreads: 2, minThreads: 2 })
        try {
          const cpu = workerPoolBulkhead<Task, number>({ name: 'piscina', pool, maxQueued: 2 })
          expect(cpu.maxConcurrent).toBe(2)
          const runs = [1, 2, 3, 4].map(() => cpu.run({ n: 1_000_000 }))
          await expect(cpu.run({ n: 1 })).rejects.toMatchObject({ code: 'E_BULKHEAD_FULL' })
          const controller = new AbortController()
          await Promise.all(runs)
          const aborted = cpu.run({ n: 5_000_000_000 }, { signal: controller.signal })
          setImmediate(() => controller.abort())
          await expect(aborted).rejects.toMatchObject({ code: 'E_ABORTED' })
          expect(cpu.stats()).toMatchObject({ inFlight: 0, full: 1 })
        } finally {
          await pool.destroy()
        }
      },
    )
  })
})
