/**
 * The `diagnostics_channel` event of degradation switches, on `hundredfold:guard:degrade-switch`:
 * {@link DegradeSwitchEvent}, published at every transition (by the signal or forced).
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(DEGRADE_CHANNELS.change, (event) => log.warn(event, 'degrade switch flipped'))
 */
export const DEGRADE_CHANNELS = Object.freeze({
  change: 'hundredfold:guard:degrade-switch',
})

/** One transition of a degradation switch: what `degrade-switch` carries and `transitions` keeps. */
export interface DegradeSwitchEvent {
  /** The switch's name. */
  policy: string
  /** The state it went to. */
  on: boolean
  /** When, by the switch's clock (unix ms by default). */
  at: number
  /** The signal's value at that sample (`NaN` for a forced transition without one). */
  value: number
  /** `signal`: the hysteresis thresholds were crossed; `forced`: `force('on' | 'off' | 'auto')`. */
  reason: 'signal' | 'forced'
}
