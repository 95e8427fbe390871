import { GuardError } from '../errors.js'
import { type Deadline, deadline, remainingMs } from './deadline.js'

/**
 * The header a deadline travels in between services: gRPC's `grpc-timeout` (PROTOCOL-HTTP2.md), a
 * *relative* budget such as `250m` (250 ms), so the clocks of caller and callee need not agree. Value: at
 * most 8 digits and a unit, `H` hours, `M` minutes, `S` seconds, `m` ms, `u` µs, `n` ns.
 */
export const DEADLINE_HEADER = 'grpc-timeout'

/** Request headers as node:http (`req.headers`), fastify or fetch (`Headers`) give them. */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

const MAX_VALUE = 99_999_999
const UNIT_MS = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 } as const

/**
 * Formats a budget in ms as a `grpc-timeout` value: whole ms (rounded down, so the callee never thinks it
 * has more than the caller), coarser units past 8 digits, µs below 1 ms (at least `1u`).
 *
 * @example
 * formatTimeout(1500) // '1500m'
 */
export function formatTimeout(ms: number): string {
  if (Number.isNaN(ms))
    throw new GuardError('E_INVALID_OPTION', 'ms must be a number', { option: 'ms', value: ms })
  if (ms < 1) return `${Math.max(1, Math.floor(ms * 1000))}u`
  for (const unit of ['m', 'S', 'M', 'H'] as const) {
    const value = Math.floor(ms / UNIT_MS[unit])
    if (value <= MAX_VALUE) return `${value}${unit}`
  }
  return `${MAX_VALUE}H`
}

/**
 * Parses a `grpc-timeout` value into ms; `undefined` if it is not one.
 *
 * @example
 * parseTimeout('2S') // 2000
 */
export function parseTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim())
  if (!match) return undefined
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

/**
 * The headers that carry what is left of the deadline on `signal` to the next service: `{}` when the
 * signal has no deadline.
 *
 * @example
 * await fetch(url, { headers: { ...deadlineHeaders(signal) }, signal })
 */
export function deadlineHeaders(signal: AbortSignal | undefined): Record<string, string> {
  const left = remainingMs(signal)
  return Number.isFinite(left) ? { [DEADLINE_HEADER]: formatTimeout(left) } : {}
}

/** Options of {@link deadlineFromHeaders}. */
export interface DeadlineFromHeadersOptions {
  /** Aborts the deadline too (e.g. the request's own signal, fired when the client goes away). */
  signal?: AbortSignal
  /** The most a caller may grant, in ms; a larger or missing header gets this. @default Infinity */
  maxMs?: number
}

/**
 * The deadline a request arrived with: from its `grpc-timeout` header, bounded by `maxMs`. `undefined` when
 * there is no (valid) header and no finite `maxMs`. Dispose it when the response is sent.
 *
 * @example
 * using request = deadlineFromHeaders(req.headers, { maxMs: 10_000 })
 * const profile = await guarded.execute(({ signal }) => load(id, signal), request?.signal)
 */
export function deadlineFromHeaders(
  headers: HeaderSource,
  options: DeadlineFromHeadersOptions = {},
): Deadline | undefined {
  const { signal, maxMs = Number.POSITIVE_INFINITY } = options
  if (typeof maxMs !== 'number' || !(maxMs > 0)) {
    throw new GuardError('E_INVALID_OPTION', 'options.maxMs must be a positive number', {
      option: 'options.maxMs',
      value: maxMs,
    })
  }
  const raw = readHeader(headers, DEADLINE_HEADER)
  const granted = raw === undefined ? undefined : parseTimeout(raw)
  const ms = Math.min(granted ?? Number.POSITIVE_INFINITY, maxMs)
  return Number.isFinite(ms) ? deadline(ms, signal) : undefined
}

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name]
  return typeof value === 'string' ? value : value?.[0]
}
