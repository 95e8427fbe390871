import { describe, expect, it } from 'vitest'
import { readPubAck } from '../src/backends/jetstream/pub-ack.js'

const read = (text: string) => readPubAck(new TextEncoder().encode(text))

describe('readPubAck', () => {
  it('reads the shapes the server sends, with or without spaces', () => {
    expect(read('{"stream":"posts", "seq":12}')).toEqual({ stream: 'posts', seq: 12, duplicate: false })
    expect(read('{"stream":"posts","seq":12,"duplicate": true}')).toEqual({
      stream: 'posts',
      seq: 12,
      duplicate: true,
    })
    expect(read('{"stream": "posts", "seq": 9007199254740991, "duplicate":false}')).toEqual({
      stream: 'posts',
      seq: 9007199254740991,
      duplicate: false,
    })
    expect(read('{"stream":"p","domain":"hub","seq":3}')).toEqual({ stream: 'p', seq: 3, duplicate: false })
  })

  it('reports errors and anything unreadable instead of guessing', () => {
    expect(
      read(
        '{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"p","seq":0}',
      ),
    ).toEqual({
      error: 'maximum messages exceeded',
    })
    expect(read('{"stream":"p"}')).toEqual({ error: 'acknowledgement without a sequence' })
    expect(read('not json')).toEqual({ error: 'unreadable acknowledgement' })
    // An escaped name takes the JSON path and comes out right.
    expect(read('{"stream":"a\\u0062","seq":1}')).toEqual({ stream: 'ab', seq: 1, duplicate: false })
  })

  it('reads from a view into a larger buffer', () => {
    const whole = new TextEncoder().encode('xx{"stream":"s","seq":7}yy')
    expect(readPubAck(whole.subarray(2, whole.length - 2))).toEqual({ stream: 's', seq: 7, duplicate: false })
  })
})

describe('readPubAck against JSON.parse', () => {
  it('agrees on every flat acknowledgement', async () => {
    const fc = await import('fast-check')
    const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)
    const space = fc.constantFrom('', ' ', '  ', '\n')
    fc.assert(
      fc.property(
        name,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.boolean()),
        space,
        (stream, seq, duplicate, s) => {
          const fields = [`"stream":${s}"${stream}"`, `"seq":${s}${seq}`]
          if (duplicate !== null) fields.push(`"duplicate":${s}${duplicate}`)
          const text = `{${fields.join(`,${s}`)}}`
          const expected = JSON.parse(text)
          expect(read(text)).toEqual({
            stream: expected.stream,
            seq: expected.seq,
            duplicate: expected.duplicate === true,
          })
        },
      ),
    )
  })
})
