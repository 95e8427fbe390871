/**
 * Finagle's retry budget: over a sliding window of `ttlMs`, retries may be at most `percent` of requests
 * plus `minPerSecond × ttl`, so a failing dependency gets at most a bounded extra load, never a retry storm.
 * Counted in ten slots per window. @internal
 */
export class RetryBudget {
  readonly #percent: number
  readonly #reserve: number
  readonly #slotMs: number
  readonly #requests = new Float64Array(10)
  readonly #retries = new Float64Array(10)
  #slot = 0
  #slotStart: number

  constructor(options: { percent: number; minPerSecond: number; ttlMs: number }, now: number) {
    this.#percent = options.percent
    this.#reserve = options.minPerSecond * (options.ttlMs / 1_000)
    this.#slotMs = options.ttlMs / 10
    this.#slotStart = now
  }

  /** A request (not a retry) was made. */
  deposit(now: number): void {
    this.#advance(now)
    this.#requests[this.#slot]! += 1
  }

  /** Takes one retry from the budget; `false` if it is spent. */
  tryWithdraw(now: number): boolean {
    this.#advance(now)
    let requests = 0
    let retries = 0
    for (let i = 0; i < 10; i++) {
      requests += this.#requests[i]!
      retries += this.#retries[i]!
    }
    if (retries + 1 > this.#reserve + this.#percent * requests) return false
    this.#retries[this.#slot]! += 1
    return true
  }

  #advance(now: number): void {
    const steps = Math.floor((now - this.#slotStart) / this.#slotMs)
    if (steps <= 0) return
    for (let i = 0; i < Math.min(steps, 10); i++) {
      this.#slot = (this.#slot + 1) % 10
      this.#requests[this.#slot] = 0
      this.#retries[this.#slot] = 0
    }
    this.#slotStart += steps * this.#slotMs
  }
}
