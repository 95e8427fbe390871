import { describe, expect, it } from 'vitest'
import { MemoryBroker, memoryDriver, partitionOf } from '../src/index.js'
import { registerQueueContract } from '../src/testing/index.js'

registerQueueContract('in-process', () => {
  const broker = new MemoryBroker()
  return { connect: () => memoryDriver({ broker }) }
})

describe('partitionOf', () => {
  it('is stable and spreads keys over every partition', () => {
    expect(partitionOf('user:42', 8)).toBe(partitionOf('user:42', 8))
    expect(partitionOf('héllo', 1024)).toBe(partitionOf('héllo', 1024))
    expect(partitionOf('', 8)).toBe(0x811c9dc5 % 8)
    const counts = new Array<number>(8).fill(0)
    for (let i = 0; i < 8000; i++) counts[partitionOf(`user:${i}`, 8)]!++
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })
})
