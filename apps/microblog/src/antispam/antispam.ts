import { GuardError, type WorkerPool, workerPoolBulkhead } from '@hundredfold/guard'
import type { Counter } from '@hundredfold/metrics'
import { Piscina } from 'piscina'
import { AppError } from '../domain/app-error.js'
import { type AntispamOptions, resolveAntispamOptions } from './antispam-options.js'
import { type AntispamVerdict, checkText } from './check-text.js'
import type { AntispamModel } from './classifier.js'
import { defaultAntispamModel } from './default-model.js'

/** Counters of an {@link Antispam}. */
export interface AntispamStats {
  /** Checks that answered, and how many of them said spam. */
  checked: number
  spam: number
  /** Checks running on a thread, and waiting for one (always 0 inline). */
  inFlight: number
  queued: number
  /** Checks refused with `E_BULKHEAD_FULL`, failed with `E_QUEUE_TIMEOUT`, aborted while they waited. */
  full: number
  timedOut: number
  aborted: number
}

/** The antispam check behind a bounded worker pool. Made by {@link createAntispam}. */
export interface Antispam {
  /**
   * Checks one post's text. A check that waits for a thread leaves the queue when `signal` fires; one
   * already running (under a millisecond) finishes, so no worker is ever stopped for an abort.
   *
   * @throws {GuardError} `E_BULKHEAD_FULL` at once when every thread is busy and `maxQueued` checks
   *   wait; `E_QUEUE_TIMEOUT` after `queueTimeoutMs` in the queue; `E_ABORTED` if `signal` fired first.
   * @throws {AppError} `E_UNAVAILABLE` after `close()`.
   */
  check(text: string, signal?: AbortSignal): Promise<AntispamVerdict>
  stats(): AntispamStats
  /**
   * Resolves once every thread has loaded the worker and run one check. Await it before taking traffic:
   * a check queued behind a thread that is still starting may wait past `queueTimeoutMs`.
   */
  ready(): Promise<void>
  /** Lets running and queued checks finish, then stops the threads. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * The worker, next to this module: `.ts` when running from sources (vitest, tsx), whose threads then
 * load tsx to read it; `.js` in the build.
 */
const workerUrl = new URL(
  `./antispam-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
)

/**
 * Makes the antispam check: {@link checkText} on `threads` piscina workers behind guard's
 * `workerPoolBulkhead`, so a full queue is `E_BULKHEAD_FULL` at once rather than latency for every
 * compose. It is optional work: wrap it in a degradation switch, which skips it and counts the skip
 * while the process is overloaded. The model is trained here, once (about 0.3 s of CPU), unless given.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const antispam = createAntispam({ threads: 2, maxQueued: 64, queueTimeoutMs: 200, registry })
 * const sw = degradeSwitch({ name: 'antispam', signal: eventLoopDelaySignal(), onAbove: 100, offBelow: 40, registry })
 * await antispam.ready()
 * const verdict = await optional(sw.start(), () => antispam.check(text, signal), () => undefined) // undefined: skipped
 * if (verdict?.spam) log.info({ rules: verdict.rules, score: verdict.score }, 'spam')
 * await antispam.close()
 */
export function createAntispam(options: AntispamOptions = {}): Antispam {
  const o = resolveAntispamOptions(options)
  const model = o.model ?? defaultAntispamModel()
  const counts = { checked: 0, spam: 0 }
  const verdicts = o.registry?.counter({
    name: 'antispam_checks_total',
    help: 'Antispam checks that answered, by verdict (spam or ham).',
    labelNames: ['verdict'],
  })
  const answered = (verdict: AntispamVerdict): AntispamVerdict => {
    counts.checked++
    if (verdict.spam) counts.spam++
    count(verdicts, verdict)
    return verdict
  }
  let closed = false
  const refuseIfClosed = () => {
    if (closed) throw new AppError('E_UNAVAILABLE', `${o.name}: the antispam check is closed`)
  }

  if (o.threads === 0) {
    return {
      async check(text, signal) {
        refuseIfClosed()
        if (signal?.aborted) throw aborted(signal)
        return answered(checkText(text, model))
      },
      stats: () => ({ ...counts, inFlight: 0, queued: 0, full: 0, timedOut: 0, aborted: 0 }),
      ready: async () => {},
      close: async () => {
        closed = true
      },
      [Symbol.asyncDispose]: async () => {
        closed = true
      },
    }
  }

  const piscina = new Piscina<string, AntispamVerdict>({
    filename: workerUrl.href,
    minThreads: o.threads,
    maxThreads: o.threads,
    workerData: { antispamModel: shared(model) },
    ...(workerUrl.pathname.endsWith('.ts') ? { execArgv: ['--import', 'tsx'] } : {}),
  })
  // Without a listener, an 'error' event would throw and end the process.
  piscina.on('error', (error: unknown) => o.onError?.(error))
  const pool = workerPoolBulkhead({
    name: o.name,
    pool: uncancellable(piscina, o.threads),
    maxQueued: o.maxQueued,
    queueTimeoutMs: o.queueTimeoutMs,
    ...(o.registry ? { registry: o.registry } : {}),
  })
  // One check per thread straight on piscina: each idle thread takes one, so each has loaded the worker.
  let warm: Promise<void> | undefined
  const ready = () => {
    warm ??= Promise.all(Array.from({ length: o.threads }, () => piscina.run(''))).then(() => {})
    return warm
  }
  // Checks accepted and not yet answered, so close() can let the queued ones through the pool first.
  const pending = new Set<Promise<unknown>>()
  let closing: Promise<void> | undefined
  const close = () => {
    closed = true
    closing ??= Promise.allSettled(pending).then(() => piscina.close())
    return closing
  }
  return {
    async check(text, signal) {
      refuseIfClosed()
      const run = pool.run(text, signal ? { signal } : {})
      pending.add(run)
      try {
        return answered(await run)
      } finally {
        pending.delete(run)
      }
    },
    stats() {
      const { inFlight, queued, full, timedOut, aborted } = pool.stats()
      return { ...counts, inFlight, queued, full, timedOut, aborted }
    },
    ready,
    close,
    [Symbol.asyncDispose]: close,
  }
}

/**
 * The pool as the bulkhead sees it, without the signal: piscina stops a worker to cancel a running task,
 * and restarting a thread costs far more than letting a sub-millisecond check finish. A queued check
 * still leaves the bulkhead's queue at once when its signal fires.
 */
function uncancellable(
  piscina: Piscina<string, AntispamVerdict>,
  threads: number,
): WorkerPool<string, AntispamVerdict> {
  return {
    run: (text) => piscina.run(text),
    get queueSize() {
      return piscina.queueSize
    },
    get utilization() {
      return piscina.utilization
    },
    options: { maxThreads: threads },
  }
}

/** The model with its weights on a SharedArrayBuffer, so `workerData` shares them instead of copying. */
function shared(model: AntispamModel): AntispamModel {
  if (model.weights.buffer instanceof SharedArrayBuffer) return model
  const weights = new Float32Array(new SharedArrayBuffer(model.weights.byteLength))
  weights.set(model.weights)
  return Object.freeze({ bits: model.bits, bias: model.bias, weights })
}

function count(verdicts: Counter<'verdict'> | undefined, verdict: AntispamVerdict): void {
  verdicts?.labels({ verdict: verdict.spam ? 'spam' : 'ham' }).inc()
}

function aborted(signal: AbortSignal): GuardError {
  const reason: unknown = signal.reason
  return reason instanceof GuardError
    ? reason
    : new GuardError('E_ABORTED', 'operation aborted', {}, { cause: reason })
}
