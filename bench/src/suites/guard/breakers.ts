import { circuitBreaker } from '@hundredfold/guard'
import { CircuitState, ConsecutiveBreaker, circuitBreaker as cockatielBreaker, handleAll } from 'cockatiel'
import CircuitBreaker from 'opossum'
import { BenchError } from '../../errors.js'
import { inProcessWindow } from './call-loop.js'
import type { Contenders } from './sample.js'

/** The guarded functions: settled in the same microtask queue, or one event-loop turn later. */
export const GUARDED = Object.freeze({
  resolved: (): Promise<number> => Promise.resolve(1),
  deferred: (): Promise<number> => new Promise<number>((resolve) => setImmediate(resolve, 1)),
})

/** Failures in a row that open every breaker of the suite. */
const CONSECUTIVE = 5
/** Open long enough that no window of the run sees a breaker half-open. */
const OPEN_MS = 10 * 60_000

// The same rule in each where the library has it: open after 5 failures in a row. opossum has no such
// rule (it opens on an error percentage) and a 10 s timeout per call by default, turned off here so that
// all three do the same job: count outcomes and admit or refuse.
function makeBreakers(action: () => Promise<number>) {
  return {
    ours: circuitBreaker({
      name: 'bench',
      consecutiveFailures: CONSECUTIVE,
      failureRatio: false,
      openMs: OPEN_MS,
    }),
    cockatiel: cockatielBreaker(handleAll, {
      halfOpenAfter: OPEN_MS,
      breaker: new ConsecutiveBreaker(CONSECUTIVE),
    }),
    opossum: new CircuitBreaker(action, { timeout: false, resetTimeout: OPEN_MS }),
  }
}

/** Closed breakers around `fn`, one caller back to back; `bare` calls `fn` itself. */
export function closedBreakers(
  fn: () => Promise<number>,
  ms: number,
): Contenders<'bare' | 'ours' | 'cockatiel' | 'opossum'> {
  const { ours, cockatiel, opossum } = makeBreakers(fn)
  return {
    windows: {
      bare: inProcessWindow(fn, ms),
      ours: inProcessWindow(() => ours.execute(fn), ms),
      cockatiel: inProcessWindow(() => cockatiel.execute(fn), ms),
      opossum: inProcessWindow(() => opossum.fire(), ms),
    },
    close: async () => opossum.shutdown(),
  }
}

/** Breakers opened by 5 failures in a row: every call is refused at once; `bare` calls the resolved function. */
export async function openBreakers(
  ms: number,
): Promise<Contenders<'bare' | 'ours' | 'cockatiel' | 'opossum'>> {
  const failing = (): Promise<number> => Promise.reject(new Error('down'))
  const { ours, cockatiel, opossum } = makeBreakers(failing)
  for (let i = 0; i < CONSECUTIVE; i++) {
    await ours.execute(failing).catch(() => {})
    await cockatiel.execute(failing).catch(() => {})
    await opossum.fire().catch(() => {})
  }
  const states = { ours: ours.state, cockatiel: CircuitState[cockatiel.state], opossum: opossum.opened }
  if (states.ours !== 'open' || cockatiel.state !== CircuitState.Open || !opossum.opened) {
    opossum.shutdown()
    throw new BenchError('E_BENCH_PEER', 'a breaker did not open after 5 failures in a row', {
      context: states,
    })
  }
  const { resolved } = GUARDED
  return {
    windows: {
      bare: inProcessWindow(resolved, ms),
      ours: inProcessWindow(() => ours.execute(resolved), ms, { rejects: true }),
      cockatiel: inProcessWindow(() => cockatiel.execute(resolved), ms, { rejects: true }),
      opossum: inProcessWindow(() => opossum.fire(), ms, { rejects: true }),
    },
    close: async () => opossum.shutdown(),
  }
}
