import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { type ScatterTarget, ShardError, type ShardQueryEvent, scatterAll } from '../src/index.js'

function shard(
  label: string,
  answer: (signal: AbortSignal | undefined) => Promise<Record<string, unknown>[]>,
): ScatterTarget & { signal?: AbortSignal | undefined } {
  const target: ScatterTarget & { signal?: AbortSignal | undefined } = {
    label,
    database: label.split('/')[0]!,
    table: label.split('/')[1]!,
    async query<R>(_sql: string, _params: readonly unknown[], { signal }: { signal?: AbortSignal }) {
      target.signal = signal
      return { rows: (await answer(signal)) as R[] }
    },
  }
  return target
}

const rows = (n: number, label: string) => async () =>
  Array.from({ length: n }, (_, i) => ({ id: i, from: label }))
const slow = (ms: number) => (signal: AbortSignal | undefined) =>
  new Promise<Record<string, unknown>[]>((resolve, reject) => {
    const timer = setTimeout(() => resolve([{ id: 'late' }]), ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(new Error('cancelled'))
      },
      {
        once: true,
      },
    )
  })

async function rejection(promise: Promise<unknown>): Promise<ShardError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(outcome).toBeInstanceOf(ShardError)
  return outcome as ShardError
}

describe('scatterAll', () => {
  it('concatenates every shard rows with their label, shards in the targets order', async () => {
    const targets = [
      shard('a/t0', rows(2, 'a/t0')),
      shard('a/t1', rows(0, 'a/t1')),
      shard('b/t2', rows(1, 'b/t2')),
    ]
    const events: ShardQueryEvent[] = []
    const result = await scatterAll(targets, {
      sql: 'SELECT id FROM {t}',
      onShardQuery: (e) => events.push(e),
    })
    expect(result.rows).toEqual([
      { label: 'a/t0', row: { id: 0, from: 'a/t0' } },
      { label: 'a/t0', row: { id: 1, from: 'a/t0' } },
      { label: 'b/t2', row: { id: 0, from: 'b/t2' } },
    ])
    expect(result.failed).toEqual([])
    expect(events.map((e) => [e.label, e.rows])).toEqual(
      expect.arrayContaining([
        ['a/t0', 2],
        ['a/t1', 0],
        ['b/t2', 1],
      ]),
    )
  })

  it('fails with E_SCATTER_REFUSED as soon as the rows exceed limitRows, cancelling the rest', async () => {
    const pending = shard('b/t1', slow(10_000))
    const targets = [shard('a/t0', rows(6, 'a/t0')), pending]
    const error = await rejection(scatterAll(targets, { sql: 'SELECT …', limitRows: 5 }))
    expect(error).toMatchObject({ code: 'E_SCATTER_REFUSED', option: 'options.limitRows', value: 5 })
    expect(pending.signal?.aborted).toBe(true)
  })

  it('fails with E_SHARD_QUERY on any failure, unless partial: then the failed shards are listed', async () => {
    const boom = new Error('too many connections')
    const targets = () => [
      shard('a/t0', rows(1, 'a/t0')),
      shard('b/t1', () => Promise.reject(boom)),
      shard('c/t2', rows(1, 'c/t2')),
    ]
    const error = await rejection(scatterAll(targets(), { sql: 'SELECT …' }))
    expect(error).toMatchObject({ code: 'E_SHARD_QUERY', database: 'b', physicalTable: 't1', cause: boom })

    const result = await scatterAll(targets(), { sql: 'SELECT …', partial: true })
    expect(result.rows.map((r) => r.label)).toEqual(['a/t0', 'c/t2'])
    expect(result.failed).toHaveLength(1)
    expect(result.failed[0]).toMatchObject({ label: 'b/t1', database: 'b', table: 't1' })
    expect(result.failed[0]!.error).toMatchObject({ code: 'E_SHARD_QUERY', cause: boom })
  })

  it('an abort fails even a partial fan-out, with E_ABORTED', async () => {
    const controller = new AbortController()
    const targets = [shard('a/t0', slow(10_000)), shard('a/t1', slow(10_000))]
    const pending = scatterAll(targets, { sql: 'SELECT …', partial: true, signal: controller.signal })
    setTimeout(() => controller.abort(), 5)
    expect((await rejection(pending)).code).toBe('E_ABORTED')
    expect(targets.every((t) => t.signal?.aborted)).toBe(true)
  })

  it('refuses an already aborted signal without querying', async () => {
    const target = shard('a/t0', rows(1, 'a/t0'))
    const error = await rejection(scatterAll([target], { sql: 'SELECT …', signal: AbortSignal.abort() }))
    expect(error.code).toBe('E_ABORTED')
    expect(target.signal).toBeUndefined()
  })

  it('validates limitRows and maxConcurrency', async () => {
    for (const bad of [{ limitRows: 0 }, { maxConcurrency: -1 }, { limitRows: Number.POSITIVE_INFINITY }]) {
      const error = await rejection(scatterAll([], { sql: 'SELECT 1', ...bad }))
      expect(error.code).toBe('E_INVALID_OPTION')
    }
  })

  it('publishes every shard statement on hundredfold:shard:scatter-query', async () => {
    const events: unknown[] = []
    const listener = (event: unknown) => events.push(event)
    subscribe('hundredfold:shard:scatter-query', listener)
    try {
      await scatterAll([shard('a/t0', rows(3, 'a/t0')), shard('a/t1', rows(1, 'a/t1'))], { sql: 'SELECT …' })
    } finally {
      unsubscribe('hundredfold:shard:scatter-query', listener)
    }
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ label: 'a/t0', database: 'a', table: 't0', rows: 3 }),
        expect.objectContaining({ label: 'a/t1', rows: 1 }),
      ]),
    )
  })

  it('copies the driver error SQLSTATE, and passes a target ShardError through as it is', async () => {
    const duplicate = Object.assign(new Error('duplicate key'), { sqlState: '23505' })
    const copied = await rejection(
      scatterAll([shard('a/t0', () => Promise.reject(duplicate))], { sql: 'SELECT …' }),
    )
    expect(copied).toMatchObject({ code: 'E_SHARD_QUERY', sqlState: '23505', cause: duplicate })
    const own = new ShardError('E_SHARD_QUERY', 'app_0.posts_3: boom', {
      table: 'posts',
      physicalTable: 'posts_3',
    })
    expect(await rejection(scatterAll([shard('a/t0', () => Promise.reject(own))], { sql: 'SELECT …' }))).toBe(
      own,
    )
  })
})
