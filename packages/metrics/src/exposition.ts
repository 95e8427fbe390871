// Helpers of the Prometheus text exposition format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

/**
 * The `Content-Type` of {@link Registry.metrics}'s output: Prometheus text exposition format 0.0.4.
 *
 * @example
 * res.writeHead(200, { 'content-type': contentType }).end(registry.metrics())
 */
export const contentType = 'text/plain; version=0.0.4; charset=utf-8'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Whether `name` is a valid Prometheus metric name. @internal */
export function isMetricName(name: unknown): name is string {
  return typeof name === 'string' && METRIC_NAME.test(name)
}

/** Whether `name` is a valid label name a user may set (names starting with `__` are reserved). @internal */
export function isLabelName(name: unknown): name is string {
  return typeof name === 'string' && LABEL_NAME.test(name) && !name.startsWith('__')
}

const LABEL_VALUE_SPECIAL = /[\\"\n]/
const HELP_SPECIAL = /[\\\n]/

/** Escapes a label value: backslash, double quote and line feed. @internal */
export function escapeLabelValue(value: string): string {
  if (!LABEL_VALUE_SPECIAL.test(value)) return value
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** Escapes HELP text: backslash and line feed. @internal */
export function escapeHelp(help: string): string {
  if (!HELP_SPECIAL.test(help)) return help
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** Formats a sample value the way Prometheus parses it (`+Inf`, `-Inf`, `NaN`). @internal */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value)
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? '+Inf' : '-Inf'
}

/** `{a="x",b="y"}` from pre-rendered pairs, or `''` when there are none. @internal */
export function braces(pairs: string): string {
  return pairs === '' ? '' : `{${pairs}}`
}
