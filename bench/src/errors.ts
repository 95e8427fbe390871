/** Stable codes of every error the bench kit throws; callers match on `code`, never on the message. */
export type BenchErrorCode =
  | 'E_BENCH_OPTION'
  | 'E_BENCH_SUITE'
  | 'E_BENCH_TARGET'
  | 'E_BENCH_DATASET'
  | 'E_BENCH_LOAD'
  | 'E_BENCH_PEER'
  | 'E_BENCH_ABORTED'

/**
 * The one error class of the bench kit.
 *
 * @example
 * throw new BenchError('E_BENCH_OPTION', 'options.rate must be a positive number', { context: { rate } })
 */
export class BenchError extends Error {
  override readonly name = 'BenchError'
  readonly code: BenchErrorCode
  readonly context: Readonly<Record<string, unknown>>

  constructor(
    code: BenchErrorCode,
    message: string,
    init: { context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.code = code
    this.context = Object.freeze({ ...init.context })
  }
}

/** Throws `E_BENCH_ABORTED` when the signal has fired; call between units of work. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: signal.reason })
}
