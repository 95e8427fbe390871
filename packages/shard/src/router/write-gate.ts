import { abortedError } from '../errors.js'

/** A hold on writes to some databases, from `router.hold()`: release it to let them go on. */
export interface WriteHold {
  /** Writes that arrived while held and waited (so far). */
  readonly buffered: number
  /** Lets the waiting writes go on (each re-resolves its key if the map changed meanwhile). Idempotent. */
  release(): void
}

interface Waiter {
  resolve(): void
}

/**
 * Counts the writes in flight per physical database and holds new ones while a resharding switches
 * maps: a held write waits (it is buffered, not failed) until the hold is released. `hold()` resolves
 * once the writes that were already running on those databases have finished, so the caller knows
 * nothing is writing there. Shared by every map version of one router. @internal
 */
export class WriteGate {
  readonly #inFlight = new Map<number, number>()
  readonly #holds = new Map<number, Set<GateHold>>()
  readonly #waiters = new Set<Waiter>()
  readonly #drains = new Set<{ databases: readonly number[]; resolve(): void }>()

  /** Whether a write to `database` would wait now. */
  isHeld(database: number): boolean {
    return (this.#holds.get(database)?.size ?? 0) > 0
  }

  /** Admits a write to `database` at once when it is not held (the hot path: no promise); else false. */
  tryEnter(database: number): boolean {
    if (this.#holds.size > 0 && this.isHeld(database)) return false
    this.#inFlight.set(database, (this.#inFlight.get(database) ?? 0) + 1)
    return true
  }

  /**
   * Admits a write to `database` (counted in flight until `leave`). Returns true when it had to wait
   * for a hold: the map may have changed, so the caller re-resolves.
   */
  async enter(database: number, signal?: AbortSignal): Promise<boolean> {
    let waited = false
    while (this.isHeld(database)) {
      waited = true
      for (const hold of this.#holds.get(database) ?? []) hold.buffered++
      await this.#wait(signal)
    }
    this.#inFlight.set(database, (this.#inFlight.get(database) ?? 0) + 1)
    return waited
  }

  /**
   * Admits one write to several databases at once (a broadcast): all or none, so a hold never finds it
   * half in. Returns true when it had to wait.
   */
  async enterAll(databases: readonly number[], signal?: AbortSignal): Promise<boolean> {
    let waited = false
    while (databases.some((d) => this.isHeld(d))) {
      waited = true
      for (const d of databases) for (const hold of this.#holds.get(d) ?? []) hold.buffered++
      await this.#wait(signal)
    }
    for (const d of databases) this.#inFlight.set(d, (this.#inFlight.get(d) ?? 0) + 1)
    return waited
  }

  leave(database: number): void {
    const left = (this.#inFlight.get(database) ?? 1) - 1
    if (left <= 0) this.#inFlight.delete(database)
    else this.#inFlight.set(database, left)
    for (const drain of this.#drains) {
      if (drain.databases.every((d) => !this.#inFlight.has(d))) {
        this.#drains.delete(drain)
        drain.resolve()
      }
    }
  }

  /** Holds new writes to `databases` and resolves once those in flight there have finished. */
  async hold(databases: readonly number[], signal?: AbortSignal): Promise<WriteHold> {
    if (signal?.aborted) throw abortedError(signal)
    const hold = new GateHold(() => {
      for (const d of databases) {
        const set = this.#holds.get(d)
        set?.delete(hold)
        if (set?.size === 0) this.#holds.delete(d)
      }
      const waiters = [...this.#waiters]
      this.#waiters.clear()
      for (const waiter of waiters) waiter.resolve()
    })
    for (const d of databases) {
      let set = this.#holds.get(d)
      if (set === undefined) {
        set = new Set()
        this.#holds.set(d, set)
      }
      set.add(hold)
    }
    if (databases.some((d) => this.#inFlight.has(d))) {
      try {
        await new Promise<void>((resolve, reject) => {
          const drain = { databases, resolve }
          this.#drains.add(drain)
          signal?.addEventListener(
            'abort',
            () => {
              this.#drains.delete(drain)
              reject(abortedError(signal))
            },
            { once: true },
          )
        })
      } catch (err) {
        hold.release()
        throw err
      }
    }
    return hold
  }

  #wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortedError(signal))
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const onAbort = () => {
        this.#waiters.delete(waiter)
        reject(abortedError(signal!))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
    })
  }
}

class GateHold implements WriteHold {
  buffered = 0
  #released = false
  readonly #onRelease: () => void

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    this.#onRelease()
  }
}
