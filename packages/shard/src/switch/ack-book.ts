import { abortedError } from '../errors.js'
import type { AckMessage } from './switch-tables.js'

/** What a coordinator has heard from the routers, by kind of acknowledgement and router. @internal */
export class AckBook {
  readonly #acks = new Map<AckMessage['op'], Map<string, AckMessage>>()
  #wake: (() => void) | undefined
  #lost: unknown

  constructor(readonly switchId: string) {}

  add(ack: AckMessage | undefined): void {
    if (ack === undefined || ack.switch !== this.switchId) return
    let byRouter = this.#acks.get(ack.op)
    if (byRouter === undefined) {
      byRouter = new Map()
      this.#acks.set(ack.op, byRouter)
    }
    byRouter.set(ack.router, ack)
    this.#wake?.()
  }

  /** The acknowledging connection broke: waits fail from now on. */
  lost(error: unknown): void {
    this.#lost = error
    this.#wake?.()
  }

  get(op: AckMessage['op'], router: string): AckMessage | undefined {
    return this.#acks.get(op)?.get(router)
  }

  all(op: AckMessage['op']): AckMessage[] {
    return [...(this.#acks.get(op)?.values() ?? [])]
  }

  /** Resolves at the next acknowledgement, or after `ms`; rejects once `signal` fires. */
  async next(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#lost !== undefined) throw this.#lost
    if (signal?.aborted) throw abortedError(signal)
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, { once: true })
      this.#wake = done
    })
    if (this.#lost !== undefined) throw this.#lost
  }
}
