import { createQueue, type Queue, type Stream, type StreamOptions } from '../index.js'
import { eventually, expectCode, uniqueName } from './contract-helpers.js'
import type { QueueFixture } from './queue-fixture.js'
import { afterEach, describe, expect, it } from './vitest-api.js'

const kilobyte = new Uint8Array(1000).fill(120)

/**
 * Part of the queue contract: stream settings (storage, limits, discard policy, retention, replicas)
 * are applied and read back the same way by every backend, and a full stream behaves the same.
 */
export function registerStreamLimitsContract(fixture: QueueFixture): void {
  describe('stream limits', () => {
    const queues: Queue[] = []
    const streams: string[] = []

    function open(): Queue {
      const queue = createQueue({ driver: fixture.connect() })
      queues.push(queue)
      return queue
    }

    async function newStream(queue: Queue, options: Partial<StreamOptions> = {}): Promise<Stream> {
      const stream = await queue.stream({ name: uniqueName('lim'), storage: 'memory', ...options })
      streams.push(stream.name)
      return stream
    }

    afterEach(async () => {
      for (const queue of queues.splice(0)) await queue.drain()
      const cleaner = createQueue({ driver: fixture.connect() })
      for (const name of streams.splice(0)) await cleaner.deleteStream(name)
      await cleaner.drain()
    })

    it('creates a stream with the settings asked for, reports them back, and updates the limits on open', async () => {
      const queue = open()
      const plain = await newStream(queue)
      expect((await plain.info()).config).toEqual({
        storage: 'memory',
        retention: 'limits',
        discard: 'new',
        maxAgeMs: Number.POSITIVE_INFINITY,
        maxBytes: Number.POSITIVE_INFINITY,
        maxMessages: Number.POSITIVE_INFINITY,
        replicas: 1,
        duplicateWindowMs: 120_000,
      })
      const settings = {
        storage: 'file',
        maxAgeMs: 3_600_000,
        maxBytes: 1 << 20,
        maxMessages: 10_000,
        discard: 'new',
        replicas: 1,
        duplicateWindowMs: 60_000,
      } as const
      const stream = await newStream(queue, settings)
      expect((await stream.info()).config).toEqual({ ...settings, retention: 'limits' })
      expect((await stream.deadLetters!.info()).config).toEqual({ ...settings, retention: 'limits' })
      await queue.stream({ name: stream.name, storage: 'file', maxBytes: 2 << 20, discard: 'old' })
      expect((await stream.info()).config).toMatchObject({
        storage: 'file',
        maxBytes: 2 << 20,
        discard: 'old',
        maxAgeMs: Number.POSITIVE_INFINITY,
        maxMessages: Number.POSITIVE_INFINITY,
      })
    })

    it('refuses to reopen a stream with another storage or retention, naming the option', async () => {
      const queue = open()
      const stream = await newStream(queue, { storage: 'file' })
      const storage = await expectCode(
        queue.stream({ name: stream.name, storage: 'memory' }),
        'E_INVALID_OPTION',
        { requested: 'memory', existing: 'file' },
      )
      expect(storage.message).toContain('options.storage')
      const retention = await expectCode(
        queue.stream({ name: stream.name, storage: 'file', retention: 'workqueue' }),
        'E_INVALID_OPTION',
      )
      expect(retention.message).toContain('options.retention')
      expect((await stream.info()).config).toMatchObject({ storage: 'file', retention: 'limits' })
    })

    it('a full stream with discard new refuses the publish with E_STREAM_FULL and keeps what it acknowledged', async () => {
      const stream = await newStream(open(), { maxMessages: 3 })
      for (let i = 0; i < 3; i++) await stream.publish({ id: `m${i}`, data: String(i) })
      await expectCode(stream.publish({ id: 'm3', data: '3' }), 'E_STREAM_FULL', { limit: 'maxMessages' })
      // A retry of a message it stored is still answered as the duplicate it is.
      expect(await stream.publish({ id: 'm1', data: '1' })).toMatchObject({ duplicate: true, seq: 2 })
      await expectCode(
        stream.publishBatch([
          { id: 'm3', data: '3' },
          { id: 'm4', data: '4' },
        ]),
        'E_STREAM_FULL',
        { index: 0, id: 'm3', stream: stream.name },
      )
      expect((await stream.info()).messages).toBe(3)
      const consumer = await stream.consumer({ name: 'c' })
      const got = await consumer.fetch({ max: 10 })
      expect(got.map((m) => m.id)).toEqual(['m0', 'm1', 'm2'])
    })

    it('counts bytes too: with maxBytes the message that does not fit is refused', async () => {
      const stream = await newStream(open(), { maxBytes: 3500 })
      let stored = 0
      let refused: unknown
      for (let i = 0; i < 10 && !refused; i++) {
        await stream.publish({ id: `k${i}`, data: kilobyte }).then(
          () => stored++,
          (err: unknown) => (refused = err),
        )
      }
      expect(stored).toBe(3)
      await expectCode(Promise.reject(refused), 'E_STREAM_FULL', { limit: 'maxBytes' })
      const info = await stream.info()
      expect(info.messages).toBe(3)
      expect(info.bytes).toBeGreaterThan(3000)
      expect(info.bytes).toBeLessThanOrEqual(3500)
    })

    it('discard old makes room by deleting the oldest messages', async () => {
      const stream = await newStream(open(), { maxMessages: 3, discard: 'old' })
      for (let i = 0; i < 5; i++) await stream.publish({ id: `o${i}`, data: String(i) })
      const info = await stream.info()
      expect(info).toMatchObject({ messages: 3, firstSeq: 3, lastSeq: 5 })
      const consumer = await stream.consumer({ name: 'c' })
      expect((await consumer.fetch({ max: 10 })).map((m) => m.id)).toEqual(['o2', 'o3', 'o4'])
    })

    it('workqueue retention removes what was acknowledged, so the limits bound the unconsumed backlog', async () => {
      const stream = await newStream(open(), {
        partitions: 2,
        retention: 'workqueue',
        maxMessages: 2,
        deadLetter: false,
      })
      await stream.publish({ id: 'w0', key: 'a', data: '0' })
      await stream.publish({ id: 'w1', key: 'b', data: '1' })
      await expectCode(stream.publish({ id: 'w2', data: '2' }), 'E_STREAM_FULL')
      const consumer = await stream.consumer({ name: 'work' })
      // One consumer per message: another over the same subjects is refused.
      await expectCode(stream.consumer({ name: 'other', partition: 0 }), 'E_BROKER')
      const batch = await consumer.fetch({ max: 10 })
      expect(batch).toHaveLength(2)
      batch[0]!.ack()
      batch[1]!.term()
      await eventually(async () => (await stream.info()).messages === 0)
      await stream.publish({ id: 'w2', data: '2' })
      expect((await consumer.fetch({ max: 10 })).map((m) => m.id)).toEqual(['w2'])
    })

    it('removes messages older than maxAgeMs, consumed or not', async () => {
      const stream = await newStream(open(), { maxAgeMs: 1000, duplicateWindowMs: 1000 })
      await stream.publish({ id: 'a0', data: '0' })
      await stream.publish({ id: 'a1', data: '1' })
      expect((await stream.info()).messages).toBe(2)
      await eventually(async () => (await stream.info()).messages === 0)
    })

    it('validates the settings eagerly, naming the option', async () => {
      const queue = open()
      const bad: Array<[Partial<StreamOptions>, string]> = [
        [{ maxBytes: 0 }, 'options.maxBytes'],
        [{ maxMessages: 1.5 }, 'options.maxMessages'],
        [{ maxAgeMs: 50 }, 'options.maxAgeMs'],
        [{ maxAgeMs: 60_000 }, 'options.duplicateWindowMs must not exceed options.maxAgeMs'],
        [{ discard: 'oldest' as 'old' }, 'options.discard'],
        [{ retention: 'interest' as 'limits' }, 'options.retention'],
        [{ storage: 'disk' as 'file' }, 'options.storage'],
        [{ replicas: 0 }, 'options.replicas'],
        [{ replicas: 7 }, 'options.replicas'],
      ]
      for (const [options, message] of bad) {
        const err = await expectCode(queue.stream({ name: 'never_created', ...options }), 'E_INVALID_OPTION')
        expect(err.message).toContain(message)
      }
    })
  })
}
