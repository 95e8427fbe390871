import type { Registry } from '@hundredfold/metrics'
import type { Pool } from 'undici'
import type { Clock } from './clock.js'
import type { DiscoveredEndpoint, Discovery } from './discovery/discovery.js'
import { invalidOption } from './errors.js'
import { dynamicWeight } from './pickers/dynamic-weight.js'
import type { Picker } from './pickers/picker.js'
import {
  atLeastZero,
  boolean,
  checkEndpoints,
  integer,
  percent,
  positive,
  stripUndefined,
} from './validate.js'

/** Retry options of {@link BalancerOptions}. Every default is in `retryDefaults`. */
export interface RetryOptions {
  /** Retries after the first try (so `maxRetries + 1` tries at most). @default 2 */
  maxRetries?: number
  /** Methods that are idempotent (a request with `idempotent: true` is too). @default GET HEAD OPTIONS PUT DELETE TRACE */
  methods?: readonly string[]
  /** Response statuses retried (idempotent requests only). @default [502, 503, 504] */
  statusCodes?: readonly number[]
  /** Retry a try that hit `perTryTimeoutMs` (idempotent requests only). @default true */
  onTryTimeout?: boolean
  /**
   * Also retry a non-idempotent request when its error proves nothing was sent (connection refused,
   * connect timeout, host unreachable), as Finagle requeues. @default true
   */
  retryUnsent?: boolean
  /** Retries may be at most this share of requests over `budgetTtlMs`, plus the minimum below. @default 0.2 */
  budgetPercent?: number
  /** Retries per second always allowed, whatever the request rate. @default 10 */
  budgetMinPerSecond?: number
  /** The window the budget is counted over. @default 10_000 */
  budgetTtlMs?: number
}

/** Active health check options. Every default is in `healthCheckDefaults`. */
export interface HealthCheckOptions {
  /** The path probed on each endpoint with GET. @default '/health' */
  path?: string
  /** Time between probes of one endpoint. @default 10_000 */
  intervalMs?: number
  /** A probe slower than this fails. @default 1_000 */
  timeoutMs?: number
  /** Consecutive passing probes that make an unhealthy endpoint healthy again. @default 2 */
  healthyThreshold?: number
  /** Consecutive failing probes that take an endpoint out. @default 3 */
  unhealthyThreshold?: number
}

/** Outlier ejection options. Every default is in `outlierEjectionDefaults`. */
export interface OutlierEjectionOptions {
  /** Consecutive failures (5xx, connection errors, try timeouts) that eject an endpoint. @default 5 */
  consecutiveFailures?: number
  /** The n-th ejection in a row lasts `baseEjectionMs × 2^(n-1)`. @default 10_000 */
  baseEjectionMs?: number
  /** The cap on one ejection's length; after this long without an ejection, n starts again at 1. @default 300_000 */
  maxEjectionMs?: number
}

/** Options of {@link Balancer}. Every default is in `balancerDefaults`. */
export interface BalancerOptions {
  /** Fixed origins (`http://host:port`) or `{ origin, weight }`. Give this or `discovery`. */
  endpoints?: readonly (string | DiscoveredEndpoint)[]
  /** Where the endpoints come from: `dnsDiscovery(...)`, `fileDiscovery(...)`, `kubernetesDiscovery(...)`. */
  discovery?: Discovery
  /** Chooses the endpoint of each try. @default dynamicWeight() */
  picker?: Picker
  /** Retries, or `false` for none. @default retryDefaults */
  retry?: RetryOptions | false
  /** A try slower than this (to its response headers) is abandoned, and retried if allowed. @default false (off) */
  perTryTimeoutMs?: number | false
  /** Active health checks, or `false` for none. @default false */
  healthCheck?: HealthCheckOptions | false
  /** Outlier ejection, or `false` for none. @default outlierEjectionDefaults */
  outlierEjection?: OutlierEjectionOptions | false
  /**
   * At most this share of endpoints is taken out (ejected or failing health checks) at once; beyond it the
   * balancer panics and balances over all endpoints, ignoring health. @default 50
   */
  maxEjectedPercent?: number
  /** How long a (re)admitted endpoint ramps up to its full weight; 0 for no slow start. @default 10_000 */
  slowStartMs?: number
  /** The weight share a (re)admitted endpoint starts at, in percent. @default 10 */
  slowStartMinWeightPercent?: number
  /** Envoy's slow-start aggression: above 1 the ramp rises faster early. @default 1 */
  slowStartAggression?: number
  /** Options of each endpoint's undici `Pool` (keep-alive, connections, timeouts). @default {} */
  pool?: Pool.Options
  /** A registry of `@hundredfold/metrics` to report per-endpoint gauges and counters to. @default none */
  metrics?: Registry
  /** The `balancer` label on metrics, to tell balancers sharing a registry apart. @default 'default' */
  name?: string
  /** Told of discovery and health-check errors, which never reach requests. @default ignore */
  onError?: (error: unknown) => void
  /** The clock, in ms, for tests. @default performance.now */
  now?: Clock
}

/** The defaults of {@link RetryOptions}. */
export const retryDefaults = Object.freeze({
  maxRetries: 2,
  methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) as readonly string[],
  statusCodes: Object.freeze([502, 503, 504]) as readonly number[],
  onTryTimeout: true,
  retryUnsent: true,
  budgetPercent: 0.2,
  budgetMinPerSecond: 10,
  budgetTtlMs: 10_000,
})

/** The defaults of {@link HealthCheckOptions}. */
export const healthCheckDefaults = Object.freeze({
  path: '/health',
  intervalMs: 10_000,
  timeoutMs: 1_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
})

/** The defaults of {@link OutlierEjectionOptions}. */
export const outlierEjectionDefaults = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 10_000,
  maxEjectionMs: 300_000,
})

/** The defaults of {@link BalancerOptions} (the picker default is a fresh `dynamicWeight()` per balancer). */
export const balancerDefaults = Object.freeze({
  retry: retryDefaults,
  perTryTimeoutMs: false as number | false,
  healthCheck: false as const,
  outlierEjection: outlierEjectionDefaults,
  maxEjectedPercent: 50,
  slowStartMs: 10_000,
  slowStartMinWeightPercent: 10,
  slowStartAggression: 1,
  pool: Object.freeze({}) as Pool.Options,
  name: 'default',
})

/** @internal */
export interface ResolvedBalancerOptions {
  readonly endpoints: readonly DiscoveredEndpoint[] | undefined
  readonly discovery: Discovery | undefined
  readonly picker: Picker
  readonly retry: Readonly<Required<RetryOptions>> | false
  readonly perTryTimeoutMs: number | false
  readonly healthCheck: Readonly<Required<HealthCheckOptions>> | false
  readonly outlierEjection: Readonly<Required<OutlierEjectionOptions>> | false
  readonly maxEjectedPercent: number
  readonly slowStart: {
    readonly windowMs: number
    readonly minWeightPercent: number
    readonly aggression: number
  }
  readonly pool: Pool.Options
  readonly metrics: Registry | undefined
  readonly name: string
  readonly onError: (error: unknown) => void
  readonly now: Clock | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveBalancerOptions(options: BalancerOptions): ResolvedBalancerOptions {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', 'must be an object', options)
  }
  const o = { ...balancerDefaults, ...stripUndefined(options) }
  if (options.endpoints === undefined && options.discovery === undefined) {
    throw invalidOption('options.endpoints', 'or options.discovery must be given', undefined)
  }
  if (options.endpoints !== undefined && options.discovery !== undefined) {
    throw invalidOption('options.endpoints', 'and options.discovery cannot both be given', undefined)
  }
  const endpoints = options.endpoints === undefined ? undefined : checkEndpoints(options.endpoints)
  const discovery = options.discovery
  if (discovery !== undefined && (typeof discovery !== 'object' || typeof discovery.watch !== 'function')) {
    throw invalidOption(
      'options.discovery',
      'must be a Discovery (dnsDiscovery(), fileDiscovery(), …)',
      discovery,
    )
  }
  const picker = options.picker ?? dynamicWeight()
  if (typeof picker !== 'object' || picker === null || typeof picker.pick !== 'function') {
    throw invalidOption('options.picker', 'must be a Picker (dynamicWeight(), p2cPeakEwma(), …)', picker)
  }
  if (o.perTryTimeoutMs !== false) positive('options.perTryTimeoutMs', o.perTryTimeoutMs)
  percent('options.maxEjectedPercent', o.maxEjectedPercent)
  atLeastZero('options.slowStartMs', o.slowStartMs)
  percent('options.slowStartMinWeightPercent', o.slowStartMinWeightPercent)
  positive('options.slowStartAggression', o.slowStartAggression)
  if (typeof o.name !== 'string' || o.name === '')
    throw invalidOption('options.name', 'must be a non-empty string', o.name)
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidOption('options.onError', 'must be a function', options.onError)
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidOption('options.now', 'must be a function returning ms', options.now)
  }
  if (options.metrics !== undefined && typeof options.metrics?.gauge !== 'function') {
    throw invalidOption('options.metrics', 'must be a Registry of @hundredfold/metrics', options.metrics)
  }
  if (typeof o.pool !== 'object' || o.pool === null)
    throw invalidOption('options.pool', 'must be an object', o.pool)
  return Object.freeze({
    endpoints,
    discovery,
    picker,
    retry: resolveRetry(options.retry),
    perTryTimeoutMs: o.perTryTimeoutMs,
    healthCheck: resolveHealthCheck(options.healthCheck),
    outlierEjection: resolveOutlier(options.outlierEjection),
    maxEjectedPercent: o.maxEjectedPercent,
    slowStart: Object.freeze({
      windowMs: o.slowStartMs,
      minWeightPercent: o.slowStartMinWeightPercent,
      aggression: o.slowStartAggression,
    }),
    pool: o.pool,
    metrics: options.metrics,
    name: o.name,
    onError: options.onError ?? (() => {}),
    now: options.now,
  })
}

function resolveRetry(retry: RetryOptions | false | undefined): Readonly<Required<RetryOptions>> | false {
  if (retry === false) return false
  if (retry !== undefined && (typeof retry !== 'object' || retry === null)) {
    throw invalidOption('options.retry', 'must be an object or false', retry)
  }
  const r = { ...retryDefaults, ...stripUndefined(retry ?? {}) }
  integer('options.retry.maxRetries', r.maxRetries, 0)
  if (!Array.isArray(r.methods) || !r.methods.every((m) => typeof m === 'string')) {
    throw invalidOption('options.retry.methods', 'must be an array of method names', r.methods)
  }
  if (
    !Array.isArray(r.statusCodes) ||
    !r.statusCodes.every((s) => Number.isInteger(s) && s >= 100 && s < 600)
  ) {
    throw invalidOption('options.retry.statusCodes', 'must be an array of HTTP statuses', r.statusCodes)
  }
  boolean('options.retry.onTryTimeout', r.onTryTimeout)
  boolean('options.retry.retryUnsent', r.retryUnsent)
  if (!(r.budgetPercent >= 0 && r.budgetPercent <= 1)) {
    throw invalidOption('options.retry.budgetPercent', 'must be in [0, 1]', r.budgetPercent)
  }
  atLeastZero('options.retry.budgetMinPerSecond', r.budgetMinPerSecond)
  positive('options.retry.budgetTtlMs', r.budgetTtlMs)
  return Object.freeze({ ...r, methods: r.methods.map((m) => m.toUpperCase()) })
}

function resolveHealthCheck(
  check: HealthCheckOptions | false | undefined,
): Readonly<Required<HealthCheckOptions>> | false {
  if (check === false || check === undefined) return false
  if (typeof check !== 'object' || check === null) {
    throw invalidOption('options.healthCheck', 'must be an object or false', check)
  }
  const h = { ...healthCheckDefaults, ...stripUndefined(check) }
  if (typeof h.path !== 'string' || !h.path.startsWith('/')) {
    throw invalidOption('options.healthCheck.path', 'must be a path starting with /', h.path)
  }
  positive('options.healthCheck.intervalMs', h.intervalMs)
  positive('options.healthCheck.timeoutMs', h.timeoutMs)
  integer('options.healthCheck.healthyThreshold', h.healthyThreshold, 1)
  integer('options.healthCheck.unhealthyThreshold', h.unhealthyThreshold, 1)
  return Object.freeze(h)
}

function resolveOutlier(
  outlier: OutlierEjectionOptions | false | undefined,
): Readonly<Required<OutlierEjectionOptions>> | false {
  if (outlier === false) return false
  if (outlier !== undefined && (typeof outlier !== 'object' || outlier === null)) {
    throw invalidOption('options.outlierEjection', 'must be an object or false', outlier)
  }
  const e = { ...outlierEjectionDefaults, ...stripUndefined(outlier ?? {}) }
  integer('options.outlierEjection.consecutiveFailures', e.consecutiveFailures, 1)
  positive('options.outlierEjection.baseEjectionMs', e.baseEjectionMs)
  positive('options.outlierEjection.maxEjectionMs', e.maxEjectionMs)
  if (e.maxEjectionMs < e.baseEjectionMs) {
    throw invalidOption('options.outlierEjection.maxEjectionMs', 'must be ≥ baseEjectionMs', e.maxEjectionMs)
  }
  return Object.freeze(e)
}
