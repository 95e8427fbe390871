import { describe, expect, it } from 'vitest'
import { DEFAULT_EPOCH, Snowflake } from '../src/index.js'
import { chiSquare, chiSquarePValue, seededRandom } from './support/chi-square.js'

const MODULI = Array.from({ length: 1023 }, (_, i) => i + 2) // N = 2…1024
const SAMPLES = 20_480 // 20 expected per bucket at N = 1024

/** `SAMPLES` ids from a generator receiving Poisson arrivals at `rate` ids/s (simulated clock). */
function idsAt(rate: number, seed: number, startAtZero = false): BigInt64Array {
  const arrivals = seededRandom(seed)
  let now = DEFAULT_EPOCH + 86_400_000
  const generator = new Snowflake({
    workerId: 37,
    clock: () => now,
    random: startAtZero ? () => 0 : seededRandom(seed + 1),
  })
  const ids = new BigInt64Array(SAMPLES)
  for (let i = 0; i < SAMPLES; i++) {
    now += Math.round((-Math.log(1 - arrivals()) * 1000) / rate)
    ids[i] = generator.next()
  }
  return ids
}

/** The p-value of "id % N is uniform" for every N in MODULI. */
function pValues(ids: BigInt64Array): number[] {
  // id = high · 2^22 + low; id % N from doubles, without a bigint division per id and modulus.
  const high = Array.from(ids, (id) => Number(id >> 22n))
  const low = Array.from(ids, (id) => Number(id & 0x3f_ffffn))
  return MODULI.map((n) => {
    const counts = new Float64Array(n)
    const shift = 2 ** 22 % n
    for (let i = 0; i < ids.length; i++) counts[((((high[i]! % n) * shift) % n) + low[i]!) % n]!++
    return chiSquarePValue(chiSquare(counts, ids.length), n - 1)
  })
}

describe('even shards at low rates: chi-square of id % N for N = 2…1024', () => {
  it('computes chi-square p-values correctly', () => {
    expect(chiSquarePValue(3.841, 1)).toBeCloseTo(0.05, 3)
    expect(chiSquarePValue(6.635, 1)).toBeCloseTo(0.01, 3)
    expect(chiSquarePValue(1073.6, 1023)).toBeCloseTo(0.13, 1)
    expect(chiSquarePValue(0, 5)).toBe(1)
  })

  it.each([1, 10, 100])(
    'at %i ids/s, every N passes (p > 0.01, Bonferroni-corrected over the 1023 tests)',
    (rate) => {
      const p = pValues(idsAt(rate, rate * 7919))
      const smallest = Math.min(...p)
      // The family of 1023 tests passes at 0.01 when its smallest p-value does at 0.01 / 1023.
      expect(smallest * MODULI.length).toBeGreaterThan(0.01)
      // And no more individual failures at 0.01 than chance allows (expected ≈ 10).
      expect(p.filter((value) => value <= 0.01).length).toBeLessThan(25)
    },
  )

  it('fails, as it should, for sequences that restart at 0 every millisecond (what other packages do)', () => {
    const p = pValues(idsAt(10, 42, true))
    expect(p[0]).toBeLessThan(1e-12) // N = 2: every id is even
    // Every even N (the shard counts people pick) is skewed; odd ones are rescued by the timestamp bits.
    const even = MODULI.flatMap((n, i) => (n % 2 === 0 ? [p[i]!] : []))
    expect(even.every((value) => value < 1e-6)).toBe(true)
  })
})
