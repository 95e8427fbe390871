import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { HomeTimelines } from '../src/storage/home-timelines.js'
import { breakerHomeTimelines } from '../src/storage/home-timelines-breaker.js'
import { memoryHomeTimelines } from '../src/storage/home-timelines-memory.js'

/** A store that fails every call while `down`, and counts the calls that reach it. */
function flaky() {
  const inner = memoryHomeTimelines({ max: 100 })
  const state = { down: false, reached: 0 }
  const gate = <T>(fn: () => Promise<T>) => {
    state.reached++
    return state.down ? Promise.reject(new Error('connect ECONNREFUSED')) : fn()
  }
  const store: HomeTimelines = {
    max: inner.max,
    read: (u, p, s) => gate(() => inner.read(u, p, s)),
    add: (d, s) => gate(() => inner.add(d, s)),
    beginBuild: (u, s) => gate(() => inner.beginBuild(u, s)),
    finishBuild: (u, t, e, s) => gate(() => inner.finishBuild(u, t, e, s)),
    invalidate: (u, s) => gate(() => inner.invalidate(u, s)),
    ping: (s) => gate(() => inner.ping(s)),
    dump: (u, s) => inner.dump(u, s),
    close: () => inner.close(),
  }
  return { store, state }
}

describe('home timelines behind a breaker', () => {
  it('fails at once after a run of failures, never pings through it, and closes when the store is back', async () => {
    const { store, state } = flaky()
    const homes = breakerHomeTimelines(store, { consecutiveFailures: 3, openMs: 50 })
    const page = { offset: 0, limit: 10 }
    expect(await homes.read('1', page)).toBeUndefined()
    state.down = true
    for (let i = 0; i < 3; i++) await expect(homes.read('1', page)).rejects.toThrow(/ECONNREFUSED/)
    const reached = state.reached
    // Open: the store is not asked.
    await expect(homes.read('1', page)).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' })
    await expect(homes.add([{ userId: '1', entries: [] }])).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' })
    expect(state.reached).toBe(reached)
    // Readiness sees the store itself.
    await expect(homes.ping()).rejects.toThrow(/ECONNREFUSED/)
    expect(homes.breaker.state).toBe('open')
    state.down = false
    await sleep(80) // past openMs: the next call tries the store
    expect(await homes.read('1', page)).toBeUndefined()
    expect(homes.breaker.state).toBe('closed')
  })
})
