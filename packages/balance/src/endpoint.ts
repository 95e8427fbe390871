import { Pool } from 'undici'
import { PeakEwma } from './ewma.js'
import type { PickerEndpoint } from './pickers/picker.js'
import { type SlowStartOptions, slowStartFactor } from './slow-start.js'

/**
 * Where an endpoint stands with the balancer:
 * - `active`: takes traffic;
 * - `ejected`: taken out by outlier ejection until its ejection ends;
 * - `unhealthy`: failing active health checks;
 * - `draining`: discovery dropped it; it finishes its tries in flight, then its pool closes.
 */
export type EndpointState = 'active' | 'ejected' | 'unhealthy' | 'draining'

/** One endpoint in `balancer.endpoints()`. */
export interface EndpointSnapshot {
  origin: string
  state: EndpointState
  /** The weight discovery gave it. */
  weight: number
  /** The picker's effective weight (dynamic weight: score × slow start / (outstanding + 1); P2C: 1 / cost). */
  effectiveWeight: number | undefined
  /** The dynamic-weight score, when that picker is used. */
  score: number | undefined
  /** The picker's own state (`healthy`, `breathing`, `dead`, `probing`), when it has one. */
  pickerState: string | undefined
  /** Tries in flight. */
  outstanding: number
  /** Peak EWMA of latency to response headers, ms (decay 10 s); 0 before the first response. */
  ewmaMs: number
  /** The slow-start share of weight now, (0, 1]. */
  slowStart: number
  /** Ejections so far. */
  ejections: number
  /** Failures in a row (5xx, connection errors, try timeouts). */
  consecutiveFailures: number
  /** Tries sent, and tries that failed. */
  requests: number
  failures: number
}

const EWMA_DECAY_MS = 10_000

/** An endpoint: its undici `Pool` (keep-alive) and what the balancer tracks of it. @internal */
export class Endpoint implements PickerEndpoint {
  readonly origin: string
  readonly pool: Pool
  weight: number
  /** Cached by the balancer from the flags below whenever one changes. */
  state: EndpointState = 'active'
  draining = false
  healthy = true
  outstanding = 0
  requests = 0
  failures = 0
  consecutiveFailures = 0
  ejections = 0
  /** Consecutive ejections without a long healthy spell: the exponent of the next ejection's length. */
  ejectionLevel = 0
  ejectedUntil = 0
  lastEjectedAt = Number.NEGATIVE_INFINITY
  /** Health-check streaks. */
  checkPasses = 0
  checkFailures = 0
  readonly latency: PeakEwma
  #rampStart: number
  readonly #slowStart: SlowStartOptions

  constructor(
    origin: string,
    weight: number,
    poolOptions: Pool.Options,
    slowStart: SlowStartOptions,
    now: number,
    ramp: boolean,
  ) {
    this.origin = origin
    this.weight = weight
    this.pool = new Pool(origin, poolOptions)
    this.#slowStart = slowStart
    this.#rampStart = ramp ? now : Number.NEGATIVE_INFINITY
    this.latency = new PeakEwma(EWMA_DECAY_MS, now)
  }

  slowStartFactor(now: number): number {
    return slowStartFactor(now - this.#rampStart, this.#slowStart)
  }

  restartSlowStart(now: number): void {
    this.#rampStart = now
  }
}
