import { setTimeout as sleep } from 'node:timers/promises'
import { createQueue, type Queue, type QueueMessage, type Stream } from '../index.js'
import { eventually, expectCode, uniqueName } from './contract-helpers.js'
import type { QueueFixture } from './queue-fixture.js'
import { registerStreamLimitsContract } from './stream-limits-contract.js'
import { afterAll, afterEach, describe, expect, it } from './vitest-api.js'

/**
 * The behaviour every backend must have, written once and run against each of them
 * (JetStream on a real server, the in-process broker).
 */
export function registerQueueContract(name: string, makeFixture: () => QueueFixture): void {
  describe(`queue contract: ${name}`, () => {
    const fixture = makeFixture()
    const opened: { queue: Queue; streams: string[] }[] = []

    function open(): Queue {
      const queue = createQueue({ driver: fixture.connect() })
      opened.push({ queue, streams: [] })
      return queue
    }

    async function newStream(
      queue: Queue,
      options: { partitions?: number; deadLetter?: boolean; keyHeader?: boolean } = {},
    ): Promise<Stream> {
      const stream = await queue.stream({ name: uniqueName(), storage: 'memory', ...options })
      opened.find((o) => o.queue === queue)!.streams.push(stream.name)
      return stream
    }

    afterEach(async () => {
      const cleaner = createQueue({ driver: fixture.connect() })
      for (const { queue, streams } of opened.splice(0)) {
        await queue.drain()
        for (const s of streams) await cleaner.deleteStream(s)
      }
      await cleaner.drain()
    })

    afterAll(async () => {
      await fixture.cleanup?.()
    })

    registerStreamLimitsContract(fixture)

    it('stores a message id once within the duplicate window', async () => {
      const stream = await newStream(open())
      const first = await stream.publish({ id: 'post-1', data: 'a' })
      const again = await stream.publish({ id: 'post-1', data: 'a' })
      const other = await stream.publish({ id: 'post-2', data: 'b' })
      expect(first.duplicate).toBe(false)
      expect(again).toMatchObject({ duplicate: true, seq: first.seq })
      expect(other.seq).toBe(first.seq + 1)
      expect((await stream.info()).messages).toBe(2)
      const consumer = await stream.consumer({ name: 'c' })
      const batch = await consumer.fetch({ max: 10 })
      expect(batch.map((m) => [m.id, m.text()])).toEqual([
        ['post-1', 'a'],
        ['post-2', 'b'],
      ])
    })

    it('publishes a batch: acknowledgements in order, each message keyed and deduplicated on its own', async () => {
      const queue = open()
      const stream = await newStream(queue, { partitions: 4 })
      expect(await stream.publishBatch([])).toEqual([])
      const inputs = Array.from({ length: 300 }, (_, i) => ({
        id: `b${i}`,
        key: `k${i % 7}`,
        data: String(i),
      }))
      const acks = await stream.publishBatch(inputs)
      expect(acks).toHaveLength(300)
      expect(acks.every((a) => !a.duplicate)).toBe(true)
      expect(new Set(acks.map((a) => a.seq)).size).toBe(300)
      for (const [i, ack] of acks.entries()) {
        expect(ack.partition).toBe(stream.partitionOf(`k${i % 7}`))
        expect(ack.subject).toBe(stream.subject(ack.partition))
      }
      // A retry of a batch that half failed: the stored ones come back as duplicates with their seq.
      const again = await stream.publishBatch([...inputs.slice(0, 2), { id: 'b300', key: 'k0', data: '300' }])
      expect(again.map((a) => a.duplicate)).toEqual([true, true, false])
      expect(again.slice(0, 2).map((a) => a.seq)).toEqual(acks.slice(0, 2).map((a) => a.seq))
      expect((await stream.info()).messages).toBe(301)
      const consumer = await stream.consumer({ name: 'c', partition: stream.partitionOf('k3') })
      const batch = await consumer.fetch({ max: 500, expiresMs: 1000 })
      expect(batch.map((m) => m.text())).toEqual(
        inputs.filter((_, i) => i % 7 === 3).map((input) => input.data),
      )

      await queue.deleteStream(stream.name)
      await expectCode(stream.publishBatch(inputs.slice(0, 3)), 'E_NO_STREAM', {
        stream: stream.name,
        index: 0,
        id: 'b0',
      })
      await expectCode(stream.publishBatch(inputs, AbortSignal.abort()), 'E_ABORTED')
    })

    it('fetches in batches, in stream order, and does not redeliver acknowledged messages', async () => {
      const stream = await newStream(open())
      for (let i = 0; i < 10; i++) await stream.publish({ data: JSON.stringify({ i }) })
      const consumer = await stream.consumer({ name: 'batch', backoffMs: [2000] })
      const seen: number[] = []
      for (;;) {
        const batch = await consumer.fetch({ max: 4, expiresMs: 1000 })
        if (batch.length === 0) break
        expect(batch.length).toBeLessThanOrEqual(4)
        for (const msg of batch) {
          expect(msg.deliveries).toBe(1)
          seen.push(msg.json<{ i: number }>().i)
          msg.ack()
        }
      }
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      await eventually(async () => (await consumer.stats()).backlog === 0)
    })

    it('fetches everything available up to max at once, including what arrived since the last fetch', async () => {
      const stream = await newStream(open(), { partitions: 2 })
      const consumer = await stream.consumer({ name: 'topup' })
      const publish = (from: number, n: number) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            stream.publish({ key: `k${from + i}`, data: String(from + i) }),
          ),
        )
      await publish(0, 5)
      const first = await consumer.fetch({ max: 3 })
      expect(first.map((m) => m.text())).toEqual(['0', '1', '2'])
      await publish(5, 5) // while the caller works on its batch
      const started = Date.now()
      const second = await consumer.fetch({ max: 100, expiresMs: 5000 })
      expect(Date.now() - started).toBeLessThan(1000) // not held until the batch is full or expires
      expect(second.map((m) => m.text())).toEqual(['3', '4', '5', '6', '7', '8', '9'])
      for (const m of [...first, ...second]) m.ack()
    })

    it('redelivers what a crashed consumer had not acknowledged, after the ack wait', async () => {
      const stream = await newStream(open())
      for (let i = 0; i < 5; i++) await stream.publish({ id: `m${i}`, data: String(i) })
      const doomed = open()
      const crashed = await (await doomed.stream({ name: stream.name, storage: 'memory' })).consumer({
        name: 'workers',
        backoffMs: [1500],
      })
      const first = await crashed.fetch({ max: 5 })
      expect(first).toHaveLength(5)
      first[0]!.ack()
      first[1]!.ack()
      await doomed.drain() // the process dies mid-batch: three messages never acknowledged
      const survivor = await stream.consumer({ name: 'workers', backoffMs: [1500] })
      const started = Date.now()
      const redelivered: QueueMessage[] = []
      while (redelivered.length < 3 && Date.now() - started < 8000) {
        redelivered.push(...(await survivor.fetch({ max: 5, expiresMs: 1000 })))
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
      expect(redelivered.map((m) => m.id)).toEqual(['m2', 'm3', 'm4'])
      expect(redelivered.every((m) => m.deliveries === 2)).toBe(true)
      for (const m of redelivered) m.ack()
    })

    it('moves a poison message to the dead-letter stream after maxDeliveries', async () => {
      const queue = open()
      const stream = await newStream(queue, { partitions: 2, keyHeader: true })
      const consumer = await stream.consumer({ name: 'fanout', maxDeliveries: 3, backoffMs: [50] })
      const attempts = new Map<string, number>()
      const running = consumer.run(
        (msg) => {
          attempts.set(msg.id!, (attempts.get(msg.id!) ?? 0) + 1)
          if (msg.id === 'poison') throw new Error('cannot parse post\nline two')
        },
        { max: 10, expiresMs: 1000 },
      )
      await stream.publish({ id: 'ok-1', key: 'a', data: '1' })
      await stream.publish({ id: 'poison', key: 'b', data: '{not json' })
      await stream.publish({ id: 'ok-2', key: 'a', data: '2' })
      const dlq = stream.deadLetters!
      await eventually(async () => (await dlq.info()).messages === 1)
      await consumer.drain()
      await running
      expect(attempts.get('poison')).toBe(3)
      expect(attempts.get('ok-1')).toBe(1)
      expect(attempts.get('ok-2')).toBe(1)
      const inspector = await dlq.consumer({ name: 'inspect' })
      const [dead] = await inspector.fetch({ max: 10 })
      expect(dead!.text()).toBe('{not json')
      expect(dead!.key).toBe('b')
      expect(dead!.headers).toMatchObject({
        'hf-dlq-stream': stream.name,
        'hf-dlq-deliveries': '3',
        'hf-dlq-consumer': 'fanout',
        'hf-dlq-error': 'cannot parse post line two',
      })
      await eventually(async () => (await consumer.stats()).backlog === 0)
    })

    it('keeps per-key order with one runner per partition', async () => {
      const queue = open()
      const partitions = 4
      const stream = await newStream(queue, { partitions, keyHeader: true })
      const keys = Array.from({ length: 12 }, (_, i) => `user:${i}`)
      const seen = new Map<string, number[]>()
      const consumers = await Promise.all(
        Array.from({ length: partitions }, (_, p) => stream.consumer({ name: 'order', partition: p })),
      )
      const runs = consumers.map((c) =>
        c.run(
          async (msg) => {
            expect(msg.partition).toBe(stream.partitionOf(msg.key!))
            expect(msg.subject).toBe(`${stream.name}.${msg.partition}`)
            if (msg.json<{ n: number }>().n % 7 === 0) await sleep(1) // uneven work across partitions
            const list = seen.get(msg.key!) ?? []
            list.push(msg.json<{ n: number }>().n)
            seen.set(msg.key!, list)
          },
          { max: 16 },
        ),
      )
      const pending = []
      for (let n = 0; n < 30; n++) {
        for (const key of keys)
          pending.push(stream.publish({ key, id: `${key}:${n}`, data: JSON.stringify({ n }) }))
      }
      await Promise.all(pending)
      await eventually(() => [...seen.values()].reduce((sum, l) => sum + l.length, 0) === 30 * keys.length)
      await Promise.all(consumers.map((c) => c.drain()))
      await Promise.all(runs)
      const used = new Set(keys.map((k) => stream.partitionOf(k)))
      expect(used.size).toBeGreaterThan(1)
      for (const key of keys) {
        expect(seen.get(key)).toEqual(Array.from({ length: 30 }, (_, n) => n))
      }
    })

    it('reports the backlog: pending, in flight and redelivered', async () => {
      const stream = await newStream(open())
      const consumer = await stream.consumer({ name: 'gauge', backoffMs: [60_000] })
      expect(await consumer.stats()).toEqual({ pending: 0, ackPending: 0, redelivered: 0, backlog: 0 })
      for (let i = 0; i < 20; i++) await stream.publish({ data: 'x' })
      await eventually(async () => (await consumer.stats()).pending === 20)
      const batch = await consumer.fetch({ max: 5 })
      expect(batch).toHaveLength(5)
      await eventually(async () => {
        const s = await consumer.stats()
        return s.pending === 15 && s.ackPending === 5 && s.backlog === 20
      })
      for (const m of batch.slice(0, 3)) m.ack()
      batch[3]!.nak(0)
      await eventually(async () => {
        const s = await consumer.stats()
        return s.ackPending === 2 && s.backlog === 17
      })
      let back: QueueMessage | undefined
      const started = Date.now()
      while (!back && Date.now() - started < 5000) {
        back = (await consumer.fetch({ max: 16 })).find((m) => m.seq === batch[3]!.seq)
      }
      expect(back?.deliveries).toBe(2)
      await eventually(async () => (await consumer.stats()).redelivered === 1)
    })

    it('drains: the message in hand finishes, the rest go back at once, nothing is lost', async () => {
      const queue = open()
      const stream = await newStream(queue)
      for (let i = 0; i < 10; i++) await stream.publish({ id: `d${i}`, data: String(i) })
      const consumer = await stream.consumer({ name: 'drain', backoffMs: [60_000] })
      const handled: string[] = []
      let release!: () => void
      const inHand = new Promise<void>((resolve) => (release = resolve))
      const running = consumer.run(
        async (msg) => {
          if (handled.length === 2) {
            release()
            await sleep(100) // still working when drain starts
          }
          handled.push(msg.id!)
        },
        { max: 10 },
      )
      await inHand
      await queue.drain()
      await running
      expect(handled).toEqual(['d0', 'd1', 'd2'])
      await expectCode(stream.publish({ data: 'late' }), 'E_CLOSED')
      // Another process picks up the rest straight away, not after the 60 s ack wait.
      const next = open()
      const rest = await (await next.stream({ name: stream.name, storage: 'memory' })).consumer({
        name: 'drain',
        backoffMs: [60_000],
      })
      const got: string[] = []
      const started = Date.now()
      while (got.length < 7 && Date.now() - started < 5000) {
        for (const m of await rest.fetch({ max: 10 })) {
          got.push(m.id!)
          m.ack()
        }
      }
      expect(got).toEqual(['d3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9'])
    })

    it('honours AbortSignal and validates options', async () => {
      const queue = open()
      const stream = await newStream(queue)
      const consumer = await stream.consumer({ name: 'abort' })
      await expectCode(consumer.fetch({}, AbortSignal.abort()), 'E_ABORTED')
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 100)
      const started = Date.now()
      await expectCode(consumer.fetch({ expiresMs: 5000 }, controller.signal), 'E_ABORTED')
      expect(Date.now() - started).toBeLessThan(2000)
      await expectCode(stream.publish({ data: 'x' }, AbortSignal.abort()), 'E_ABORTED')
      await expectCode(queue.stream({ name: 'bad.name' }), 'E_INVALID_OPTION')
      await expectCode(queue.stream({ name: 'ok', partitions: 0 }), 'E_INVALID_OPTION')
      await expectCode(stream.consumer({ name: 'c', partition: 1 }), 'E_INVALID_OPTION')
      await expectCode(stream.consumer({ name: 'c', maxDeliveries: 0 }), 'E_INVALID_OPTION')
      await expectCode(stream.consumer({ name: 'c', backoffMs: [10, -1] }), 'E_INVALID_OPTION')
    })
  })
}
