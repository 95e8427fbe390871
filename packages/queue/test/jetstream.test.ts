import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { jetstreamDriver } from '../src/drivers/jetstream/index.js'
import { createQueue, type QueueError } from '../src/index.js'
import { eventually, registerQueueContract, startNatsServer, uniqueName } from '../src/testing/index.js'

registerQueueContract('NATS JetStream', () => ({
  connect: () => jetstreamDriver({ servers: process.env['NATS_URL'] ?? '127.0.0.1:4222' }),
}))

describe('JetStream: NATS restarted mid-run', () => {
  it('loses no acknowledged message (file storage, own server killed and restarted)', async () => {
    const server = await startNatsServer()
    try {
      const producer = createQueue({
        driver: jetstreamDriver({ servers: server.url, publishTimeoutMs: 1000 }),
      })
      const worker = createQueue({ driver: jetstreamDriver({ servers: server.url }) })
      const name = uniqueName('restart')
      const stream = await producer.stream({ name, partitions: 2, storage: 'file' })
      const consumer = await (await worker.stream({ name, partitions: 2 })).consumer({
        name: 'workers',
        backoffMs: [500],
      })
      const seen = new Set<string>()
      let deliveries = 0
      const running = consumer.run(
        (msg) => {
          deliveries++
          seen.add(msg.id!)
        },
        { max: 100 },
      )
      const total = 3000
      const acknowledged = new Set<string>()
      let restarted: Promise<void> | undefined
      let retries = 0
      const publishOne = async (id: string) => {
        for (;;) {
          try {
            await stream.publish({ id, key: id, data: `payload ${id}` })
            acknowledged.add(id)
            return
          } catch (err) {
            expect((err as QueueError).code).toBe('E_PUBLISH')
            retries++
            await sleep(100) // not acknowledged: the producer retries with the same id
          }
        }
      }
      for (let i = 0; i < total; i += 50) {
        if (i === 1000) restarted = server.restart()
        await Promise.all(Array.from({ length: 50 }, (_, j) => publishOne(`m${i + j}`)))
      }
      await restarted
      expect(acknowledged.size).toBe(total)
      expect(retries).toBeGreaterThan(0) // the restart really interrupted publishing
      await eventually(() => seen.size === total, 30_000)
      await consumer.drain()
      await running
      expect((await stream.info()).messages).toBe(total) // retried publishes deduplicated
      expect(deliveries).toBeGreaterThanOrEqual(total)
      await producer.deleteStream(name)
      await Promise.all([producer.drain(), worker.drain()])
    } finally {
      await server.stop()
    }
  }, 90_000)
})
