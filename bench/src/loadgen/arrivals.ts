import type { Random } from '../random.js'

/** How request send times are spaced: evenly (wrk2's model) or as a Poisson process. */
export type ArrivalProcess = 'constant' | 'poisson'

/**
 * Returns a function giving the gap to the next intended send time, in milliseconds.
 *
 * @example
 * const gap = interArrival('poisson', 500, createRandom(1)) // mean 2 ms
 */
export function interArrival(process: ArrivalProcess, ratePerSecond: number, random: Random): () => number {
  const meanMs = 1000 / ratePerSecond
  if (process === 'constant') return () => meanMs
  // Inverse transform of the exponential distribution; 1 - u avoids log(0).
  return () => -Math.log(1 - random.next()) * meanMs
}
