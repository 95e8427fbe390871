import { GuardError } from '../errors.js'
import type { RateLimitResult } from './store.js'

/** Options of {@link rateLimitHeaders}. */
export interface RateLimitHeaderOptions {
  /** The quota policy's name, printable ASCII. @default 'default' */
  policy?: string
  /** The policy's window in ms; sent as whole seconds, rounded up. */
  windowMs: number
  /** The partition key (e.g. the user the quota is for), sent as `pk`, a Structured Fields byte sequence. @default none */
  partitionKey?: string | Uint8Array
}

/**
 * The IETF RateLimit header fields for a take's answer (draft-ietf-httpapi-ratelimit-headers-11, Structured
 * Field lists): `ratelimit-policy: "default";q=100;w=60` (the quota `q` per window `w` seconds),
 * `ratelimit: "default";r=42;t=17` (`r` units left, for `t` seconds) and, when refused,
 * `retry-after: 17` (seconds, never before the end of `t`, as the draft asks). Names are lower case, as
 * HTTP/2 sends them.
 *
 * `t` is when the whole quota is back (`resetMs`) for an allowed take, and when this take would be allowed
 * (`retryAfterMs`) for a refused one.
 *
 * @throws {GuardError} `E_INVALID_OPTION` for a policy name that is not printable ASCII or a bad window.
 * @example
 * const result = await limiter.take(`user:${id}`)
 * reply.headers(rateLimitHeaders(result, { policy: 'per-user', windowMs: 60_000 }))
 */
export function rateLimitHeaders(
  result: RateLimitResult,
  options: RateLimitHeaderOptions,
): Record<string, string> {
  const { policy = 'default', windowMs, partitionKey } = options
  if (typeof policy !== 'string' || !/^[\x20-\x7e]+$/.test(policy)) {
    throw invalid('policy', 'a non-empty string of printable ASCII', policy)
  }
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw invalid('windowMs', 'a positive number', windowMs)
  const name = `"${policy.replace(/[\\"]/g, (c) => `\\${c}`)}"`
  const pk = partitionKey === undefined ? '' : `;pk=:${Buffer.from(partitionKey).toString('base64')}:`
  const t = seconds(result.allowed ? result.resetMs : result.retryAfterMs)
  const headers: Record<string, string> = {
    'ratelimit-policy': `${name};q=${result.limit};w=${Math.max(1, seconds(windowMs))}${pk}`,
    ratelimit: `${name};r=${Math.max(0, Math.floor(result.remaining))};t=${t}${pk}`,
  }
  if (!result.allowed) headers['retry-after'] = String(Math.max(1, t))
  return headers
}

/**
 * `Retry-After` seconds for a wait in ms: rounded up, at least 1.
 *
 * @example
 * reply.header('retry-after', retryAfterSeconds(err.retryAfterMs ?? 1_000))
 */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, seconds(ms))
}

function seconds(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 0
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  return new GuardError('E_INVALID_OPTION', `options.${option} must be ${rule}`, {
    option: `options.${option}`,
    value,
  })
}
