/** Slow start of a (re)admitted endpoint, as Envoy computes it. */
export interface SlowStartOptions {
  /** How long the ramp lasts; 0 turns slow start off. @default 10_000 */
  windowMs: number
  /** The weight share an endpoint starts at, in percent. @default 10 */
  minWeightPercent: number
  /** Above 1 the ramp rises faster early; below 1, later. @default 1 */
  aggression: number
}

/** The defaults of {@link SlowStartOptions}. */
export const slowStartDefaults: Readonly<SlowStartOptions> = Object.freeze({
  windowMs: 10_000,
  minWeightPercent: 10,
  aggression: 1,
})

/**
 * The share of its weight an endpoint gets `elapsedMs` after (re)admission, Envoy's
 * `max(minWeightPercent, timeFactor ^ (1 / aggression))` with `timeFactor = max(elapsed, 1 s) / window`.
 *
 * @example
 * slowStartFactor(5_000, { windowMs: 10_000, minWeightPercent: 10, aggression: 1 }) // 0.5
 */
export function slowStartFactor(elapsedMs: number, options: SlowStartOptions): number {
  if (options.windowMs <= 0 || elapsedMs >= options.windowMs) return 1
  const timeFactor = Math.max(elapsedMs, 1_000) / options.windowMs
  return Math.min(1, Math.max(options.minWeightPercent / 100, timeFactor ** (1 / options.aggression)))
}
