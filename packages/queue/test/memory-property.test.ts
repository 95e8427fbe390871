import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createQueue, MemoryBroker, memoryDriver, type QueueMessage } from '../src/index.js'

type Step =
  | { kind: 'publish'; id: number; key: number }
  | { kind: 'fetch'; max: number; ack: boolean[]; crash: boolean }
  | { kind: 'restartConsumer' }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('publish' as const), id: fc.nat(40), key: fc.nat(5) }),
  fc.record({
    kind: fc.constant('fetch' as const),
    max: fc.integer({ min: 1, max: 8 }),
    ack: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    crash: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('restartConsumer' as const) }),
)

describe('in-process broker: no lost messages (property)', () => {
  it('every published id is eventually consumed, and stored once, whatever acks, naks and crashes happen', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const broker = new MemoryBroker()
        const connect = () => createQueue({ driver: memoryDriver({ broker }) })
        const producer = connect()
        let queue = connect()
        const options = { name: 'prop', partitions: 3, storage: 'memory' as const }
        const stream = await producer.stream(options)
        const consumerOptions = { name: 'c', maxDeliveries: 1000, backoffMs: [5] }
        let consumer = await (await queue.stream(options)).consumer(consumerOptions)
        const published = new Set<string>()
        const consumed = new Set<string>()
        for (const s of steps) {
          if (s.kind === 'publish') {
            await stream.publish({ id: `id${s.id}`, key: `k${s.key}`, data: String(s.id) })
            published.add(`id${s.id}`)
          } else if (s.kind === 'fetch') {
            const batch = await consumer.fetch({ max: s.max, expiresMs: 1 })
            batch.forEach((m: QueueMessage, i) => {
              if (s.crash && i >= batch.length / 2) return // died before settling the rest
              if (s.ack[i]) {
                consumed.add(m.id!)
                m.ack()
              } else m.nak(0)
            })
          } else {
            await queue.drain() // a consumer process restarts: unsettled messages stay in flight
            queue = connect()
            consumer = await (await queue.stream(options)).consumer(consumerOptions)
          }
        }
        for (let rounds = 0; (await consumer.stats()).backlog > 0; rounds++) {
          expect(rounds).toBeLessThan(1000)
          for (const m of await consumer.fetch({ max: 50, expiresMs: 10 })) {
            consumed.add(m.id!)
            m.ack()
          }
        }
        expect(consumed).toEqual(published)
        expect(broker.streamInfo('prop').messages).toBe(published.size)
        await Promise.all([queue.drain(), producer.drain()])
      }),
      { numRuns: 50 },
    )
  })
})
