/**
 * Latencies of the last `windowMs`, for percentiles: log-spaced buckets (each 2% wider than the one
 * before, so a percentile is within 2%) in `slices` ring slots; the oldest slot is emptied as time moves
 * on. Memory is fixed: `slices × buckets` 32-bit counters (≈ 700 buckets for 0.01 ms..10 s).
 *
 * Why not HDR: `hdr-histogram-js` is not a dependency of this package, and the metrics package's HDR
 * histogram cannot merge or drop slices, which a sliding window needs; a timeout does not need 0.1%.
 * @internal
 */
export class RollingHistogram {
  readonly #lowestMs: number
  readonly #highestMs: number
  readonly #sliceMs: number
  readonly #slices: Uint32Array[]
  readonly #epochs: number[]
  readonly #totals: Float64Array
  #count = 0

  constructor(options: { lowestMs: number; highestMs: number; windowMs: number; slices: number }) {
    this.#lowestMs = options.lowestMs
    this.#highestMs = options.highestMs
    this.#sliceMs = options.windowMs / options.slices
    const buckets = this.#index(options.highestMs) + 1
    this.#slices = Array.from({ length: options.slices }, () => new Uint32Array(buckets))
    this.#epochs = Array.from({ length: options.slices }, () => Number.NEGATIVE_INFINITY)
    this.#totals = new Float64Array(buckets)
  }

  /** Samples in the window as of the last {@link record} or {@link percentile}. */
  get count(): number {
    return this.#count
  }

  /** Records a value (ms) at time `now` (ms, any monotonic origin). Values past the range count as its ends. */
  record(valueMs: number, now: number): void {
    const epoch = this.#advance(now)
    const slot = epoch % this.#slices.length
    const bucket = this.#index(valueMs)
    this.#slices[slot]![bucket]!++
    this.#totals[bucket]!++
    this.#count++
  }

  /**
   * The `p` quantile (0 < p ≤ 1) of the window at `now`, as the upper bound of its bucket (so a timeout
   * set from it errs long, by at most 2%); NaN when empty.
   */
  percentile(p: number, now: number): number {
    this.#advance(now)
    if (this.#count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(p * this.#count))
    let seen = 0
    for (let i = 0; i < this.#totals.length; i++) {
      seen += this.#totals[i]!
      if (seen >= rank) return Math.min(this.#upper(i), this.#highestMs)
    }
    return this.#highestMs
  }

  /** Empties the slots that fell out of the window; returns the current epoch. */
  #advance(now: number): number {
    const epoch = Math.floor(now / this.#sliceMs)
    const slices = this.#slices.length
    for (let slot = 0; slot < slices; slot++) {
      const slotEpoch = this.#epochs[slot]!
      // A slot holds epoch e where e % slices === slot; it is current for `epoch`, or stale.
      const wanted = epoch - ((((epoch - slot) % slices) + slices) % slices)
      if (slotEpoch === wanted) continue
      if (slotEpoch !== Number.NEGATIVE_INFINITY) this.#clear(slot)
      this.#epochs[slot] = wanted
    }
    return epoch
  }

  #clear(slot: number): void {
    const counts = this.#slices[slot]!
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!
      if (n === 0) continue
      this.#totals[i]! -= n
      this.#count -= n
      counts[i] = 0
    }
  }

  #index(valueMs: number): number {
    if (!(valueMs > this.#lowestMs)) return 0
    return Math.ceil(Math.log(Math.min(valueMs, this.#highestMs) / this.#lowestMs) / LOG_GROWTH)
  }

  #upper(index: number): number {
    return this.#lowestMs * GROWTH ** index
  }
}

const GROWTH = 1.02
const LOG_GROWTH = Math.log(GROWTH)
