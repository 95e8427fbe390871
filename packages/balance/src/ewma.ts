/**
 * A peak-sensitive moving average of latency, Finagle's and Linkerd's: a sample above the estimate
 * replaces it at once; one below is blended in with weight `1 - e^(-Δt/τ)`; and the estimate decays
 * towards 0 with time constant τ while no sample comes, so an endpoint that was slow is tried again
 * eventually. @internal
 */
export class PeakEwma {
  #estimate: number
  #stamp: number
  #seen = false
  readonly #decayMs: number

  constructor(decayMs: number, now: number, prior = 0) {
    this.#decayMs = decayMs
    this.#estimate = prior
    this.#stamp = now
  }

  /** Whether a sample was ever observed. */
  get seen(): boolean {
    return this.#seen
  }

  /** The estimate at `now`, decayed since the last sample. */
  get(now: number): number {
    const elapsed = now - this.#stamp
    return elapsed > 0 ? this.#estimate * Math.exp(-elapsed / this.#decayMs) : this.#estimate
  }

  /** Adds a sample of `latencyMs`. */
  observe(latencyMs: number, now: number): void {
    if (!this.#seen) {
      this.#seen = true
      this.#estimate = latencyMs
    } else {
      // The decayed estimate is `estimate × w`; a sample below it is blended in with weight `1 - w`.
      const w = Math.exp(-Math.max(now - this.#stamp, 0) / this.#decayMs)
      const decayed = this.#estimate * w
      this.#estimate = latencyMs > decayed ? latencyMs : decayed + latencyMs * (1 - w)
    }
    this.#stamp = now
  }
}
