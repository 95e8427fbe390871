import { describe, expect, it } from 'vitest'
import { randomInt63 } from '../src/domain/random.js'

describe('randomInt63', () => {
  it('draws distinct decimal integers below 2^63, across pool refills', () => {
    const drawn = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const value = randomInt63()
      expect(value).toMatch(/^\d{1,19}$/)
      expect(BigInt(value) < 2n ** 63n).toBe(true)
      drawn.add(value)
    }
    expect(drawn.size).toBe(2000) // 2000 draws span four refills of the 512-id pool
  })
})
