import type { PickerEndpoint } from '../pickers/picker.js'
import { slowStartFactor } from '../slow-start.js'

/** A plain {@link PickerEndpoint} for picker tests: set `outstanding` and `ramp` by hand. */
export interface FakeEndpoint extends PickerEndpoint {
  weight: number
  outstanding: number
  /** The slow-start share it reports (1 unless set, or until `restartSlowStart`). */
  ramp: number
  /** How often `restartSlowStart` was called. */
  restarts: number
}

/**
 * Makes a fake endpoint for driving a picker without a balancer.
 *
 * @example
 * const [a, b] = [fakeEndpoint('http://a:1'), fakeEndpoint('http://b:1', { outstanding: 3 })]
 * picker.pick([a, b], 0)
 */
export function fakeEndpoint(
  origin: string,
  init: Partial<Pick<FakeEndpoint, 'weight' | 'outstanding' | 'ramp'>> = {},
): FakeEndpoint {
  let rampStart: number | undefined
  return {
    origin,
    weight: init.weight ?? 1,
    outstanding: init.outstanding ?? 0,
    ramp: init.ramp ?? 1,
    restarts: 0,
    slowStartFactor(now) {
      if (rampStart === undefined) return this.ramp
      return slowStartFactor(now - rampStart, { windowMs: 10_000, minWeightPercent: 10, aggression: 1 })
    },
    restartSlowStart(now) {
      rampStart = now
      this.restarts++
    },
  }
}
