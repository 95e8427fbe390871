/**
 * The event loop's delay now, cheaply: a timer every `sampleMs` measures how late it fired, and the
 * lateness is smoothed (EWMA, `alpha` per sample), so one stall (a GC, a cold path's compilation) is
 * not overload but a loop late for tens of ms running is. Unlike a queue in front of the handlers, this sees
 * the wait a request has before any of its code runs — a loop busy with other requests, or a process
 * the OS is not scheduling. The timer is unref'd.
 */
export class LoopDelay {
  readonly #sampleMs: number
  readonly #alpha: number
  readonly #timer: NodeJS.Timeout
  #last = performance.now()
  #ms = 0

  /** With a 5 ms sample and `alpha` 0.2, one stall of 60 ms reads 12 ms; a loop late 20 ms for 50 ms reads 18. */
  constructor(sampleMs: number, alpha = 0.2) {
    this.#sampleMs = sampleMs
    this.#alpha = alpha
    this.#timer = setInterval(() => this.#sample(), sampleMs)
    this.#timer.unref()
  }

  /** The smoothed delay, in ms. */
  get ms(): number {
    return this.#ms
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #sample(): void {
    const now = performance.now()
    const late = Math.max(0, now - this.#last - this.#sampleMs)
    this.#last = now
    this.#ms += this.#alpha * (late - this.#ms)
  }
}
