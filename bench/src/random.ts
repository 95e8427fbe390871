/** A seeded pseudo-random source, so a workload and a generated graph are reproducible from `--seed`. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number
}

/**
 * mulberry32: tiny, fast and good enough for load generation (not for cryptography).
 *
 * @example
 * const random = createRandom(42)
 * random.int(0, 961)
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) }
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** `length` random characters from [A-Za-z0-9], as DeathStarBench's `stringRandom`. */
export function randomAlphanumeric(random: Random, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[Math.floor(random.next() * ALPHANUMERIC.length)]
  return out
}

/** `length` random decimal digits with a non-zero first digit, as DeathStarBench's `decRandom`. */
export function randomDecimal(random: Random, length: number): string {
  let out = String(random.int(1, 9))
  for (let i = 1; i < length; i++) out += String(random.int(0, 9))
  return out
}
