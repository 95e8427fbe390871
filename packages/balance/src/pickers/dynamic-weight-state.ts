import type { PickerAttempt } from './picker.js'

/** A try in flight, as the dynamic-weight picker tracks it. @internal */
export interface Flight {
  readonly startedAt: number
  /** Already counted as a failure for being slower than the critical latency. */
  flagged: boolean
  done: boolean
  probe: boolean
}

/**
 * `healthy`: full share by score; `breathing`: a small breath, a reduced share; `dead`: a big breath, no
 * traffic until `probeAt`; `probing`: one probe in flight, no other traffic. @internal
 */
export type Mode = 'healthy' | 'breathing' | 'dead' | 'probing'

/** One endpoint's standing with the dynamic-weight picker. @internal */
export class EndpointScore {
  score: number
  mode: Mode = 'healthy'
  consecutiveFailures = 0
  breathUntil = 0
  /** Failed probes in a row (the exponent of the wait before the next). */
  deadLevel = 0
  probeAt = 0
  /** The next try on this endpoint is the probe. */
  probePending = false
  /** Mean latency of completed tries (ms), for the pool's critical latency; undefined before the first. */
  latencyMs: number | undefined
  readonly flights = new Map<PickerAttempt, Flight>()
  // Flights in start order: the oldest is at `#head`, so finding stalled ones is amortised O(1).
  #queue: Flight[] = []
  #head = 0

  constructor(score: number) {
    this.score = score
  }

  start(attempt: PickerAttempt): Flight {
    const flight: Flight = {
      startedAt: attempt.startedAt,
      flagged: false,
      done: false,
      probe: this.probePending,
    }
    this.probePending = false
    this.flights.set(attempt, flight)
    this.#queue.push(flight)
    return flight
  }

  end(attempt: PickerAttempt): Flight | undefined {
    const flight = this.flights.get(attempt)
    if (flight === undefined) return undefined
    flight.done = true
    this.flights.delete(attempt)
    return flight
  }

  /** Flights started before `cutoff` and not yet flagged or done: flags them and returns how many. */
  flagStalled(cutoff: number): Flight[] {
    const stalled: Flight[] = []
    while (this.#head < this.#queue.length) {
      const flight = this.#queue[this.#head]!
      if (!flight.done && flight.startedAt > cutoff) break
      if (!flight.done && !flight.flagged) {
        flight.flagged = true
        stalled.push(flight)
      }
      this.#head++
    }
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    return stalled
  }

  observeLatency(ms: number): void {
    this.latencyMs = this.latencyMs === undefined ? ms : this.latencyMs * 0.9 + ms * 0.1
  }
}
