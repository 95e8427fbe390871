import type { Dispatcher } from 'undici'

/**
 * The one controller the caller's handler sees for the whole request, whichever try is current: pause
 * and resume reach the try whose response is being delivered, and abort reaches the balancer, which stops
 * retrying and aborts the try in flight. (undici's `RetryHandler` keeps a controller the same way.) @internal
 */
export class RequestController implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | undefined
  #paused = false
  #aborted = false
  #reason: Error | null = null
  readonly #onAbort: (reason: Error) => void

  constructor(onAbort: (reason: Error) => void) {
    this.#onAbort = onAbort
  }

  set target(target: Dispatcher.DispatchController | undefined) {
    this.#target = target
    if (this.#paused) target?.pause()
  }

  get target(): Dispatcher.DispatchController | undefined {
    return this.#target
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#reason
  }

  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.#target?.rawHeaders ?? null
  }

  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.#target?.rawTrailers ?? null
  }

  abort(reason: Error): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#onAbort(reason)
  }

  pause(): void {
    this.#paused = true
    this.#target?.pause()
  }

  resume(): void {
    this.#paused = false
    this.#target?.resume()
  }
}
