import { IdError, type LeaseStore } from '../../src/index.js'

/**
 * Wraps any LeaseStore and injects failures, as bentocache's ChaosCache does for cache drivers:
 * `unreachable` fails every call with E_LEASE_STORE, `taken` makes renewals answer E_LEASE_LOST.
 */
export class ChaosLeaseStore implements LeaseStore {
  readonly name: string
  mode: 'ok' | 'unreachable' | 'taken' = 'ok'
  calls = { acquire: 0, renew: 0, release: 0 }
  readonly #inner: LeaseStore

  constructor(inner: LeaseStore) {
    this.#inner = inner
    this.name = `chaos(${inner.name})`
  }

  #fail(): void {
    if (this.mode === 'unreachable') {
      throw new IdError(
        'E_LEASE_STORE',
        'lease store (chaos) unreachable',
        {},
        { cause: new Error('ECONNREFUSED') },
      )
    }
  }

  async acquire(...args: Parameters<LeaseStore['acquire']>) {
    this.calls.acquire++
    this.#fail()
    return this.#inner.acquire(...args)
  }

  async renew(...args: Parameters<LeaseStore['renew']>) {
    this.calls.renew++
    this.#fail()
    if (this.mode === 'taken') {
      throw new IdError('E_LEASE_LOST', 'taken over (chaos)', { workerId: args[0].workerId })
    }
    return this.#inner.renew(...args)
  }

  async release(...args: Parameters<LeaseStore['release']>) {
    this.calls.release++
    this.#fail()
    return this.#inner.release(...args)
  }

  close() {
    return this.#inner.close()
  }
}
