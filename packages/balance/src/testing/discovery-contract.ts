import { describe, expect, it } from 'vitest'
import type { DiscoveredEndpoint, Discovery } from '../discovery/discovery.js'

/** A discovery source under test and the means to change what it will find. */
export interface DiscoveryFixture {
  discovery: Discovery
  /** Makes the source find exactly `origins` from now on; absent for sources that cannot change. */
  set?(origins: string[]): Promise<void>
  close(): Promise<void>
}

/** Makes a fresh fixture whose source first finds exactly `initial`. */
export type DiscoveryFactory = (initial: string[]) => Promise<DiscoveryFixture>

/**
 * The behaviour every {@link Discovery} must have, written once and run against each (static, DNS, file,
 * Kubernetes, and your own). Sources should be configured to refresh quickly (tens of ms): the suite
 * waits up to 5 s for each change.
 *
 * @example
 * import { registerDiscoveryContract } from '@hundredfold/balance/testing'
 * registerDiscoveryContract('consul', async (initial) => {
 *   const agent = await startConsul(initial)
 *   return { discovery: consulDiscovery({ url: agent.url, refreshMs: 20 }), set: agent.set, close: agent.stop }
 * })
 */
export function registerDiscoveryContract(
  name: string,
  factory: DiscoveryFactory,
  options: {
    /** The source's set never changes (a static list): only the initial-set test applies. @default false */
    fixed?: boolean
  } = {},
): void {
  const a = 'http://10.0.0.1:8080'
  const b = 'http://10.0.0.2:8080'
  const c = 'http://10.0.0.3:8080'

  const watch = (discovery: Discovery) => {
    const updates: string[][] = []
    const errors: unknown[] = []
    const controller = new AbortController()
    discovery.watch(
      {
        update: (endpoints: readonly DiscoveredEndpoint[]) =>
          updates.push(endpoints.map((e) => e.origin).sort()),
        error: (error) => errors.push(error),
      },
      controller.signal,
    )
    const until = async (expected: string[]) => {
      const want = [...expected].sort()
      const deadline = Date.now() + 5_000
      while (!updates.some((u) => JSON.stringify(u) === JSON.stringify(want))) {
        if (Date.now() > deadline)
          throw new Error(`no update with ${want.join(', ')}; got ${JSON.stringify(updates)}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
    return { updates, errors, controller, until }
  }

  describe(`Discovery contract: ${name}`, () => {
    it('has a name and reports the initial set', async () => {
      const fixture = await factory([a, b])
      try {
        expect(fixture.discovery.name).toMatch(/\S/)
        const w = watch(fixture.discovery)
        await w.until([a, b])
        w.controller.abort()
      } finally {
        await fixture.close()
      }
    })

    if (options.fixed) return

    const changeable = async (initial: string[]) => {
      const fixture = await factory(initial)
      if (fixture.set === undefined) {
        await fixture.close()
        throw new Error(
          `${name}: a source that can change needs set() in its fixture (or pass { fixed: true })`,
        )
      }
      return fixture as DiscoveryFixture & Required<Pick<DiscoveryFixture, 'set'>>
    }

    it('reports endpoints added and removed', async () => {
      const fixture = await changeable([a, b])
      try {
        const w = watch(fixture.discovery)
        await w.until([a, b])
        await fixture.set([b, c])
        await w.until([b, c])
        await fixture.set([c])
        await w.until([c])
        w.controller.abort()
      } finally {
        await fixture.close()
      }
    })

    it('stops reporting once the signal aborts', async () => {
      const fixture = await changeable([a])
      try {
        const w = watch(fixture.discovery)
        await w.until([a])
        w.controller.abort()
        const seen = w.updates.length
        await fixture.set([b])
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(w.updates.length).toBe(seen)
      } finally {
        await fixture.close()
      }
    })
  })
}
