/** What a breaker's sliding window holds: calls, failures and slow calls, counted over the window. @internal */
export interface OutcomeTotals {
  calls: number
  failures: number
  slow: number
}

/** A sliding window of call outcomes, by count or by time. @internal */
export interface OutcomeWindow {
  record(failure: boolean, slow: boolean, now: number): void
  totals(now: number): OutcomeTotals
  reset(): void
}

const FAILURE = 1
const SLOW = 2

/** The last `size` calls, in a ring of outcome bits. @internal */
export class CountWindow implements OutcomeWindow {
  readonly #ring: Uint8Array
  #next = 0
  #filled = 0
  readonly #totals: OutcomeTotals = { calls: 0, failures: 0, slow: 0 }

  constructor(size: number) {
    this.#ring = new Uint8Array(size)
  }

  record(failure: boolean, slow: boolean): void {
    const size = this.#ring.length
    if (this.#filled === size) this.#drop(this.#ring[this.#next]!)
    else this.#filled++
    const bits = (failure ? FAILURE : 0) | (slow ? SLOW : 0)
    this.#ring[this.#next] = bits
    this.#next = (this.#next + 1) % size
    this.#totals.calls++
    if (failure) this.#totals.failures++
    if (slow) this.#totals.slow++
  }

  totals(): OutcomeTotals {
    return this.#totals
  }

  reset(): void {
    this.#ring.fill(0)
    this.#next = 0
    this.#filled = 0
    this.#totals.calls = this.#totals.failures = this.#totals.slow = 0
  }

  #drop(bits: number): void {
    this.#totals.calls--
    if (bits & FAILURE) this.#totals.failures--
    if (bits & SLOW) this.#totals.slow--
  }
}

/** The calls of the last `windowMs`, in `buckets` ring slots; the oldest slot is dropped as time moves. @internal */
export class TimeWindow implements OutcomeWindow {
  readonly #bucketMs: number
  readonly #epochs: number[]
  readonly #slots: OutcomeTotals[]
  readonly #totals: OutcomeTotals = { calls: 0, failures: 0, slow: 0 }

  constructor(windowMs: number, buckets: number) {
    this.#bucketMs = windowMs / buckets
    this.#epochs = Array.from({ length: buckets }, () => Number.NEGATIVE_INFINITY)
    this.#slots = Array.from({ length: buckets }, () => ({ calls: 0, failures: 0, slow: 0 }))
  }

  record(failure: boolean, slow: boolean, now: number): void {
    const slot = this.#slots[this.#advance(now)]!
    slot.calls++
    this.#totals.calls++
    if (failure) {
      slot.failures++
      this.#totals.failures++
    }
    if (slow) {
      slot.slow++
      this.#totals.slow++
    }
  }

  totals(now: number): OutcomeTotals {
    this.#advance(now)
    return this.#totals
  }

  reset(): void {
    for (const slot of this.#slots) slot.calls = slot.failures = slot.slow = 0
    this.#epochs.fill(Number.NEGATIVE_INFINITY)
    this.#totals.calls = this.#totals.failures = this.#totals.slow = 0
  }

  /** Empties the slots that fell out of the window; returns the current slot. */
  #advance(now: number): number {
    const epoch = Math.floor(now / this.#bucketMs)
    const n = this.#slots.length
    for (let i = 0; i < n; i++) {
      // The epoch slot i stands for now: the one in (epoch − n, epoch] that is ≡ i (mod n).
      const wanted = epoch - ((((epoch - i) % n) + n) % n)
      if (this.#epochs[i] === wanted) continue
      const slot = this.#slots[i]!
      this.#totals.calls -= slot.calls
      this.#totals.failures -= slot.failures
      this.#totals.slow -= slot.slow
      slot.calls = slot.failures = slot.slow = 0
      this.#epochs[i] = wanted
    }
    return ((epoch % n) + n) % n
  }
}
