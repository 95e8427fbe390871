import { abortError } from './errors.js'

/**
 * At most `limit` calls at once; the rest wait in order. Guards the database while L2 is cut off,
 * when leases no longer bound how many processes load the same key.
 */
export class Limiter {
  readonly #limit: number
  #active = 0
  readonly #queue: (() => void)[] = []

  constructor(limit: number) {
    this.#limit = limit
  }

  get active(): number {
    return this.#active
  }

  get waiting(): number {
    return this.#queue.length
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#active >= this.#limit) await this.#wait(signal)
    else this.#active++
    try {
      return await fn()
    } finally {
      const next = this.#queue.shift()
      if (next) next()
      else this.#active--
    }
  }

  /** Waits for a slot handed over by a finishing call (the active count stays the same). */
  #wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        const at = this.#queue.indexOf(grant)
        if (at >= 0) this.#queue.splice(at, 1)
        reject(abortError(signal!))
      }
      this.#queue.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
