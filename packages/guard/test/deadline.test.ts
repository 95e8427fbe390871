import { getEventListeners } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  budget,
  DEADLINE_HEADER,
  deadline,
  deadlineAt,
  deadlineFromHeaders,
  deadlineHeaders,
  formatTimeout,
  parseTimeout,
  remainingMs,
} from '../src/deadline/index.js'
import { GuardError } from '../src/errors.js'
import { timeout } from '../src/timeout/index.js'

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('deadline()', () => {
  it('fires its signal when the budget is spent, with an E_TIMEOUT reason', () => {
    const request = deadline(200)
    expect(request.at).toBe(Date.now() + 200)
    vi.advanceTimersByTime(199)
    expect(request.signal.aborted).toBe(false)
    expect(request.remainingMs()).toBe(1)
    vi.advanceTimersByTime(1)
    expect(request.signal.aborted).toBe(true)
    expect(request.signal.reason).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 200 })
    expect(request.remainingMs()).toBe(0)
  })

  it('holds a deadline longer than setTimeout can (2^31 ms) by re-arming', () => {
    const request = deadline(3_000_000_000)
    vi.advanceTimersByTime(2_147_483_647)
    expect(request.signal.aborted).toBe(false)
    vi.advanceTimersByTime(3_000_000_000 - 2_147_483_647)
    expect(request.signal.aborted).toBe(true)
  })

  it('takes a point in time as a Date', () => {
    const at = new Date(Date.now() + 1_000)
    expect(deadline(at).at).toBe(at.getTime())
  })

  it('never outlives its parent deadline, and aborts with the parent', () => {
    const outer = deadline(100)
    const inner = deadline(5_000, outer.signal)
    expect(inner.at).toBe(outer.at)
    const caller = new AbortController()
    const child = deadline(5_000, caller.signal)
    caller.abort(new Error('client went away'))
    expect(child.signal.aborted).toBe(true)
    expect((child.signal.reason as Error).message).toBe('client went away')
  })

  it('is aborted at once when its parent already is, or when the time is already past', () => {
    const caller = new AbortController()
    caller.abort('gone')
    expect(deadline(1_000, caller.signal).signal.reason).toBe('gone')
    expect(deadline(new Date(Date.now() - 1)).signal.reason).toMatchObject({ code: 'E_TIMEOUT' })
  })

  it('lets go of its timer and of the parent when disposed', () => {
    const caller = new AbortController()
    const request = deadline(1_000, caller.signal)
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1)
    request.dispose()
    request[Symbol.dispose]()
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('keeps one listener on a shared parent however many deadlines hang on it', () => {
    const server = new AbortController()
    const requests = Array.from({ length: 50 }, () => deadline(1_000, server.signal))
    expect(getEventListeners(server.signal, 'abort')).toHaveLength(1)
    for (const request of requests) request.dispose()
    expect(getEventListeners(server.signal, 'abort')).toHaveLength(0)
  })

  it('rejects a negative or NaN budget, naming it', () => {
    expect(() => deadline(-1)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'ms' }))
    expect(() => deadline(new Date(Number.NaN))).toThrow(expect.objectContaining({ option: 'at' }))
  })
})

describe('remainingMs()', () => {
  it('reads the budget from any signal made by a deadline, a budget or a timeout, down the stack', async () => {
    const request = deadline(1_000)
    vi.advanceTimersByTime(100)
    expect(remainingMs(request.signal)).toBe(900)
    const seen = await timeout({ ms: 5_000 }).execute(
      async ({ signal }) => remainingMs(signal),
      request.signal,
    )
    expect(seen).toBe(900)
    const bounded = await timeout({ ms: 300 }).execute(
      async ({ signal }) => remainingMs(signal),
      request.signal,
    )
    expect(bounded).toBe(300)
    expect(deadlineAt(request.signal)).toBe(request.at)
  })

  it('is Infinity for a signal without a deadline (or none), and 0 for an aborted one', () => {
    const plain = new AbortController()
    expect(remainingMs(plain.signal)).toBe(Number.POSITIVE_INFINITY)
    expect(remainingMs(undefined)).toBe(Number.POSITIVE_INFINITY)
    plain.abort()
    expect(remainingMs(plain.signal)).toBe(0)
  })
})

describe('budget()', () => {
  it('bounds a hop by the smaller of what is left and maxMs', () => {
    const request = deadline(1_000)
    expect(budget(request.signal, { maxMs: 300 }).remainingMs()).toBe(300)
    vi.advanceTimersByTime(800)
    expect(budget(request.signal, { maxMs: 300 }).remainingMs()).toBe(200)
    expect(budget(undefined, { maxMs: 50 }).remainingMs()).toBe(50)
  })

  it('fails fast with E_DEADLINE_EXCEEDED when less than minMs is left', () => {
    const request = deadline(1_000)
    vi.advanceTimersByTime(990)
    const error = captured(() => budget(request.signal, { maxMs: 300, minMs: 20, name: 'db' }))
    expect(error).toMatchObject({ code: 'E_DEADLINE_EXCEEDED', policy: 'db' })
    expect(budget(request.signal, { minMs: 10 }).remainingMs()).toBe(10)
  })

  it('fails with E_DEADLINE_EXCEEDED once the deadline has fired, E_ABORTED when the caller aborted', () => {
    const request = deadline(100)
    vi.advanceTimersByTime(100)
    expect(captured(() => budget(request.signal))).toMatchObject({ code: 'E_DEADLINE_EXCEEDED' })
    const caller = new AbortController()
    caller.abort(new Error('gone'))
    expect(captured(() => budget(caller.signal))).toMatchObject({ code: 'E_ABORTED' })
  })

  it('validates its options eagerly, naming the bad one', () => {
    expect(captured(() => budget(undefined, { maxMs: 0 }))).toMatchObject({ option: 'options.maxMs' })
    expect(captured(() => budget(undefined, { minMs: -1 }))).toMatchObject({ option: 'options.minMs' })
    expect(captured(() => budget(undefined, { maxMs: 10, minMs: 20 }))).toMatchObject({
      option: 'options.minMs',
    })
  })
})

describe('deadline headers (grpc-timeout)', () => {
  it('formats whole ms, coarser units past 8 digits and µs below 1 ms', () => {
    expect(formatTimeout(1500)).toBe('1500m')
    expect(formatTimeout(1500.9)).toBe('1500m')
    expect(formatTimeout(0.25)).toBe('250u')
    expect(formatTimeout(0)).toBe('1u')
    expect(formatTimeout(200_000_000)).toBe('200000S')
    expect(formatTimeout(Number.POSITIVE_INFINITY)).toBe('99999999H')
  })

  it('parses every unit, and nothing else', () => {
    expect(parseTimeout('2S')).toBe(2_000)
    expect(parseTimeout('3M')).toBe(180_000)
    expect(parseTimeout('1H')).toBe(3_600_000)
    expect(parseTimeout('250m')).toBe(250)
    expect(parseTimeout('500u')).toBe(0.5)
    expect(parseTimeout('1000000n')).toBe(1)
    for (const bad of ['', '10', 'm', '123456789m', '-1m', '1.5S', '10x'])
      expect(parseTimeout(bad)).toBeUndefined()
  })

  it('carries what is left of a deadline to the next service and back', () => {
    const request = deadline(2_000)
    vi.advanceTimersByTime(500)
    const headers = deadlineHeaders(request.signal)
    expect(headers).toEqual({ [DEADLINE_HEADER]: '1500m' })
    const downstream = deadlineFromHeaders(headers)!
    expect(downstream.remainingMs()).toBe(1_500)
    expect(deadlineFromHeaders(new Headers(headers))!.remainingMs()).toBe(1_500)
    expect(deadlineHeaders(new AbortController().signal)).toEqual({})
  })

  it('caps a granted budget at maxMs and ignores a malformed header', () => {
    expect(deadlineFromHeaders({ 'grpc-timeout': '1H' }, { maxMs: 10_000 })!.remainingMs()).toBe(10_000)
    expect(deadlineFromHeaders({ 'grpc-timeout': 'soon' })).toBeUndefined()
    expect(deadlineFromHeaders({ 'grpc-timeout': 'soon' }, { maxMs: 5_000 })!.remainingMs()).toBe(5_000)
    expect(deadlineFromHeaders({ 'grpc-timeout': ['250m', '9S'] })!.remainingMs()).toBe(250)
  })

  it('aborts the request deadline with the given signal', () => {
    const socket = new AbortController()
    const request = deadlineFromHeaders({ 'grpc-timeout': '5S' }, { signal: socket.signal })!
    socket.abort('closed')
    expect(request.signal.reason).toBe('closed')
  })
})

function captured(fn: () => unknown): GuardError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GuardError) return err
    throw err
  }
  throw new Error('expected a GuardError')
}
