/**
 * Stable codes of {@link MetricsError}. Callers match on `code`, never on `message`.
 *
 * - `E_INVALID_NAME`: a metric or label name breaks the Prometheus naming rules.
 * - `E_INVALID_LABELS`: label values do not match the metric's label names (missing, extra, wrong type).
 * - `E_DUPLICATE_METRIC`: a registry already renders that name: a metric's, or one of the series it adds
 *   (`_sum`, `_count`, `_bucket`, a histogram's `<name>_summary`); context `metric`, `value` (the name taken).
 * - `E_INVALID_OPTION`: an option failed eager validation (bad `buckets` included); `option` names it.
 * - `E_INVALID_VALUE`: a value a metric cannot take: a negative counter increment, a non-finite
 *   `observe()` of a bucketed histogram, a gauge value that is not a number.
 * - `E_COLLECT_FAILED`: a metric's `collect` callback threw during a scrape (the error is the `cause`).
 */
export type MetricsErrorCode =
  | 'E_INVALID_NAME'
  | 'E_INVALID_LABELS'
  | 'E_DUPLICATE_METRIC'
  | 'E_INVALID_OPTION'
  | 'E_INVALID_VALUE'
  | 'E_COLLECT_FAILED'

/** Context fields a {@link MetricsError} may carry; which ones are set depends on `code`. */
export interface MetricsErrorContext {
  /** The metric concerned. */
  metric?: string
  /** `E_INVALID_NAME`, `E_INVALID_LABELS`: the label concerned. */
  label?: string
  /** `E_INVALID_OPTION`: the option's path, e.g. `options.highestUs`, `options.buckets`. */
  option?: string
  /** The rejected value, if any. */
  value?: unknown
}

/** The context fields, typed on the error itself (`err.metric`, `err.option`, …). */
export interface MetricsError extends Readonly<MetricsErrorContext> {}

/**
 * The one error class of `@hundredfold/metrics`: a stable `code`, context fields and `cause`.
 *
 * @example
 * try {
 *   registry.counter({ name: 'http_requests_total', help: 'Requests.' })
 * } catch (err) {
 *   if (err instanceof MetricsError && err.code === 'E_DUPLICATE_METRIC') console.warn(err.metric)
 *   else throw err
 * }
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every context field it is given.
export class MetricsError extends Error {
  override readonly name = 'MetricsError'
  readonly code: MetricsErrorCode

  /** `context.cause`, if given, becomes the standard `cause`; every other field is copied onto the error. */
  constructor(code: MetricsErrorCode, message: string, context: MetricsErrorContext & ErrorOptions = {}) {
    const { cause, ...fields } = context
    super(message, cause === undefined ? undefined : { cause })
    this.code = code
    Object.assign(this, fields)
  }
}
