import { LRUCache } from 'lru-cache'
import { type L2TrustEvent, l2TrustChannel } from './channels.js'
import { CacheError } from './errors.js'

export interface L2TrustOptions {
  /** Named in the events. */
  nodeId: string
  /** Keys remembered as deleted from L2 during the current episode. */
  maxCleared: number
  /** For the error's context. */
  maxPendingDeletes: number
  /** Deletes dropped so far, for the events. */
  droppedDeletes: () => number
  /** Told `E_L2_DELETES_DROPPED` each time L2 becomes distrusted. */
  onError?: ((error: unknown) => void) | undefined
  now?: () => number
}

/**
 * Whether L2 may hold values that a dropped delete should have removed. After a drop, L2 is
 * distrusted until every value it could hold from before has expired (`distrust(forMs)`), or until
 * it was emptied (`resynced`). Meanwhile a key is read from L2 only after this node deleted it there
 * during the current episode: whatever L2 holds after that delete was filled under a lease granted
 * after it, hence after the write whose delete was dropped. Each drop starts a new episode.
 */
export class L2Trust {
  readonly #options: L2TrustOptions
  readonly #now: () => number
  /** Key → the episode in which this node deleted it from L2. */
  readonly #cleared: LRUCache<string, number>
  #until = 0
  #episode = 0

  constructor(options: L2TrustOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#cleared = new LRUCache({ max: options.maxCleared })
  }

  /** `false` while L2 may hold a value a dropped delete should have removed. */
  get trusted(): boolean {
    if (this.#until === 0) return true
    if (this.#now() < this.#until) return false
    this.#restore('expired')
    return true
  }

  /** Changes with every dropped delete. */
  get episode(): number {
    return this.#episode
  }

  /** A delete was dropped: distrust L2 for at least `forMs` from now. */
  distrust(forMs: number): void {
    const wasTrusted = this.trusted
    this.#episode++
    this.#until = Math.max(this.#until, this.#now() + forMs)
    if (!wasTrusted) return
    this.#publish(false, 'deletes-dropped')
    const { maxPendingDeletes, droppedDeletes } = this.#options
    this.#options.onError?.(
      new CacheError(
        'E_L2_DELETES_DROPPED',
        `more than ${maxPendingDeletes} deletes waited for L2: the oldest were dropped, L2 is distrusted`,
        { context: { droppedDeletes: droppedDeletes(), maxPendingDeletes, untrustedUntil: this.#until } },
      ),
    )
  }

  /** Of `keys`, those this node must delete from L2 before reading them (none while trusted). */
  uncleared(keys: readonly string[]): string[] {
    if (this.trusted) return []
    return keys.filter((key) => this.#cleared.get(key) !== this.#episode)
  }

  /** This node deleted `keys` from L2 after `episode` began. */
  cleared(keys: readonly string[], episode: number): void {
    if (episode !== this.#episode) return
    for (const key of keys) this.#cleared.set(key, episode)
  }

  /** L2 was emptied after `episode` began: trust it again, unless a delete was dropped since. */
  resynced(episode: number): void {
    if (episode === this.#episode && this.#until !== 0) this.#restore('resync')
  }

  #restore(reason: L2TrustEvent['reason']): void {
    this.#until = 0
    this.#cleared.clear()
    this.#publish(true, reason)
  }

  #publish(trusted: boolean, reason: L2TrustEvent['reason']): void {
    if (!l2TrustChannel.hasSubscribers) return
    const event: L2TrustEvent = {
      nodeId: this.#options.nodeId,
      trusted,
      reason,
      droppedDeletes: this.#options.droppedDeletes(),
      untrustedUntil: this.#until,
    }
    l2TrustChannel.publish(event)
  }
}
