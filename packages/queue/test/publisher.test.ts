import type { NatsConnection } from '@nats-io/nats-core'
import { describe, expect, it } from 'vitest'
import { AsyncPublisher, decodePubAck, refusal } from '../src/drivers/jetstream/publisher.js'

const decode = (text: string) => decodePubAck(new TextEncoder().encode(text))

describe('decodePubAck', () => {
  it('reads the shapes the server sends', () => {
    expect(decode('{"stream":"posts", "seq":12}')).toEqual({ stream: 'posts', seq: 12, duplicate: false })
    expect(decode('{"stream":"posts","seq":12,"duplicate": true}')).toEqual({
      stream: 'posts',
      seq: 12,
      duplicate: true,
    })
    expect(decode('{"stream":"p","domain":"hub","seq":3}')).toEqual({ stream: 'p', seq: 3, duplicate: false })
  })

  it('reports errors and anything unreadable instead of guessing', () => {
    expect(
      decode(
        '{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"p","seq":0}',
      ),
    ).toEqual({ error: 'maximum messages exceeded', errCode: 10077 })
    expect(decode('{"stream":"p"}')).toEqual({ error: 'acknowledgement without a sequence' })
    expect(decode('not json')).toEqual({ error: 'unreadable acknowledgement' })
    expect(decode('null')).toEqual({ error: 'unreadable acknowledgement' })
  })
})

describe('refusal', () => {
  it('tells a full stream (E_STREAM_FULL, which limit) from any other refusal (E_PUBLISH)', () => {
    const full = (error: string, errCode: number) => refusal({ error, errCode }, 's.0', 0)
    expect(full('maximum bytes exceeded', 10077)).toMatchObject({
      code: 'E_STREAM_FULL',
      context: { limit: 'maxBytes' },
    })
    expect(full('maximum messages exceeded', 10077)).toMatchObject({
      code: 'E_STREAM_FULL',
      context: { limit: 'maxMessages', subject: 's.0' },
    })
    expect(full('insufficient resources', 10023)).toMatchObject({
      code: 'E_STREAM_FULL',
      context: { limit: 'storage' },
    })
    expect(full('wrong last sequence: 3', 10071)).toMatchObject({ code: 'E_PUBLISH' })
    expect(refusal({ error: 'maximum bytes exceeded' }, 's.0', 0).code).toBe('E_PUBLISH') // no code: no guess
  })
})

describe('AsyncPublisher', () => {
  /** A connection that records what is published and lets the test acknowledge it. */
  function fakeConnection() {
    const sent: Array<{ subject: string; reply: string; tick: number }> = []
    let settle: ((err: unknown, msg: unknown) => void) | undefined
    let tick = 0
    const nc = {
      subscribe: (_subject: string, options: { callback: (err: unknown, msg: unknown) => void }) => {
        settle = options.callback
      },
      publish: (subject: string, _data: Uint8Array, options: { reply: string }) => {
        sent.push({ subject, reply: options.reply, tick })
      },
    }
    const ack = (reply: string, seq: number) =>
      settle!(null, {
        subject: reply,
        data: new TextEncoder().encode(`{"stream":"s","seq":${seq}}`),
        headers: undefined,
      })
    return { nc: nc as unknown as NatsConnection, sent, ack, nextTick: () => tick++ }
  }

  it('sends the single publishes of one turn of the event loop together, in order, and settles each with its own ack', async () => {
    const { nc, sent, ack, nextTick } = fakeConnection()
    const publisher = new AsyncPublisher(nc, 5000)
    try {
      const data = new Uint8Array([1])
      // Three publishes made by three separate callbacks of one phase, as three requests would.
      const acks = await new Promise<Promise<unknown>[]>((resolve) => {
        const made: Promise<unknown>[] = []
        for (const subject of ['a', 'b', 'c']) {
          setTimeout(() => {
            made.push(publisher.publish(subject, data, { msgId: subject }))
            expect(sent).toHaveLength(0) // not yet: at this turn's check phase
            if (made.length === 3) resolve(made)
          }, 0)
        }
      })
      nextTick()
      await new Promise((resolve) => setImmediate(resolve))
      expect(sent.map((s) => s.subject)).toEqual(['a', 'b', 'c'])
      expect(new Set(sent.map((s) => s.tick)).size).toBe(1)
      for (const [i, s] of sent.entries()) ack(s.reply, i + 1)
      expect(await Promise.all(acks)).toMatchObject([{ seq: 1 }, { seq: 2 }, { seq: 3 }])
    } finally {
      publisher.close()
    }
  })

  it('fails a publish not sent yet when the connection closes', async () => {
    const { nc, sent } = fakeConnection()
    const publisher = new AsyncPublisher(nc, 5000)
    const pending = publisher.publish('a', new Uint8Array([1]), {})
    publisher.close()
    await expect(pending).rejects.toMatchObject({ code: 'E_CLOSED' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toHaveLength(0)
  })
})
