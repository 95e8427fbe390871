import type { Registry } from '@hundredfold/metrics'
import {
  type Clock,
  checkFunction,
  checkName,
  checkNonNegative,
  checkPositive,
  checkPositiveInteger,
  invalid,
  withDefaults,
} from '../concurrency/check.js'
import type { DegradeSwitchEvent } from './degrade-events.js'

/** Options of {@link degradeSwitch}. Every default is in `degradeSwitchDefaults`. */
export interface DegradeSwitchOptions {
  /** What events, errors (`switch`) and metrics (`policy`) call it, e.g. `antispam`. Required. */
  name: string
  /**
   * The load signal, read at every sample: event-loop delay (`eventLoopDelaySignal()`), in-flight calls
   * (`inFlightSignal(limiter)`), a breaker (`breakerOpenSignal(breaker)`), or your own. A throw or a
   * non-finite value is no sample: the switch stays as it is. Required.
   */
  signal: () => number
  /** The switch turns on when the signal is above this. Required. */
  onAbove: number
  /** …and off only when it is below this (≤ `onAbove`): the gap keeps it from flapping. Required. */
  offBelow: number
  /** Once on, it stays on at least this long, in ms. @default 5_000 */
  minOnMs?: number
  /** Once off, it stays off at least this long, in ms. @default 1_000 */
  minOffMs?: number
  /** How often `start()` samples the signal; without `start()`, the longest a read of `on` reuses a sample. @default 500 */
  intervalMs?: number
  /** Transitions kept in `transitions` (the oldest are dropped). @default 100 */
  historySize?: number
  /**
   * The clock of dwell times and of the recorded transition times. Unix ms by default so the times can be
   * reported as they are; a wall-clock step only lengthens or shortens one dwell. @default Date.now
   */
  now?: Clock
  /** Told of every transition, after the `degrade-switch` event. @default none */
  onChange?: (event: DegradeSwitchEvent) => void
  /** Where to report the state, the signal, transitions and skipped work. @default none */
  registry?: Registry
}

/** The defaults of {@link DegradeSwitchOptions}. */
export const degradeSwitchDefaults = Object.freeze({
  minOnMs: 5_000,
  minOffMs: 1_000,
  intervalMs: 500,
  historySize: 100,
  now: (() => Date.now()) as Clock,
})

/** @internal */
export type ResolvedDegradeSwitchOptions = Readonly<
  Required<Omit<DegradeSwitchOptions, 'onChange' | 'registry'>> &
    Pick<DegradeSwitchOptions, 'onChange' | 'registry'>
>

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveDegradeSwitchOptions(options: DegradeSwitchOptions): ResolvedDegradeSwitchOptions {
  const o = withDefaults(degradeSwitchDefaults, options)
  checkName('options.name', o.name)
  checkFunction('options.signal', o.signal)
  for (const name of ['onAbove', 'offBelow'] as const) {
    if (typeof o[name] !== 'number' || !Number.isFinite(o[name])) {
      throw invalid(`options.${name}`, 'must be a finite number', o[name])
    }
  }
  if (o.offBelow > o.onAbove)
    throw invalid('options.offBelow', 'must not be above options.onAbove', o.offBelow)
  checkNonNegative('options.minOnMs', o.minOnMs)
  checkNonNegative('options.minOffMs', o.minOffMs)
  checkPositive('options.intervalMs', o.intervalMs)
  checkPositiveInteger('options.historySize', o.historySize)
  checkFunction('options.now', o.now)
  if (o.onChange !== undefined) checkFunction('options.onChange', o.onChange)
  return Object.freeze(o)
}
