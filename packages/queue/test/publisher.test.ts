import { describe, expect, it } from 'vitest'
import { decodePubAck, refusal } from '../src/drivers/jetstream/publisher.js'

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
