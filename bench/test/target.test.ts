import { describe, expect, it } from 'vitest'
import { describeApp } from '../src/target/app-record.js'
import { resolveAppStack } from '../src/target/app-stack.js'

describe('the app as recorded', () => {
  it('names the full system’s stores and queue', () => {
    expect(
      describeApp({
        HF_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hf_bench',
        HF_REDIS_URL: 'redis://127.0.0.1:6379',
        HF_NATS_URL: 'nats://127.0.0.1:4222',
        HF_QUEUE: 'on',
      }),
    ).toEqual({
      stores: { database: 'postgresql', cache: 'redis', home_timelines: 'redis' },
      queue: 'jetstream',
    })
  })

  it('reads timelines by query without the queue, and honours HF_CACHE=off and HF_QUEUE=off', () => {
    expect(describeApp({ HF_DATA_DIR: '/tmp/x' })).toEqual({
      stores: { database: 'pglite', cache: 'in-process', home_timelines: 'query' },
      queue: 'off',
    })
    expect(describeApp({ HF_NATS_URL: 'nats://x:4222', HF_QUEUE: 'off', HF_CACHE: 'off' })).toEqual({
      stores: { database: 'pglite', cache: 'off', home_timelines: 'query' },
      queue: 'off',
    })
  })
})

describe('--target auto and full', () => {
  // Port 1 on loopback refuses at once: nothing there answers.
  const nowhere = {
    postgresUrl: 'postgres://postgres@127.0.0.1:1/postgres',
    redisUrl: 'redis://127.0.0.1:1',
    natsUrl: 'nats://127.0.0.1:1',
  }
  const signal = new AbortController().signal

  it('auto falls back to what answers and says why', async () => {
    const stack = await resolveAppStack({ ...nowhere, target: 'auto' }, signal)
    expect(stack?.kind).toBe('embedded')
    expect(stack?.redisUrl).toBeUndefined()
    expect(stack?.natsUrl).toBeUndefined()
    expect(stack?.fallback).toMatch(
      /PostgreSQL .* did not answer; Redis .* did not answer .*nats-server .*: ran on PGlite$/,
    )
  })

  it('full refuses to start without every server', async () => {
    await expect(resolveAppStack({ ...nowhere, target: 'full' }, signal)).rejects.toMatchObject({
      code: 'E_BENCH_TARGET',
    })
  })

  it('postgres and embedded run the database alone; other targets are not the app', async () => {
    expect(await resolveAppStack({ ...nowhere, target: 'postgres' }, signal)).toEqual({
      kind: 'postgres',
      postgres: true,
    })
    expect(await resolveAppStack({ ...nowhere, target: 'http://127.0.0.1:8080' }, signal)).toBeUndefined()
  })
})
