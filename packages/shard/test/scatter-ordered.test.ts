import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type OrderByColumn,
  type ScatterTarget,
  ShardError,
  type ShardQueryEvent,
  scatterOrdered,
  streamOrdered,
} from '../src/index.js'

// ---------------------------------------------------------------------------------------------
// An in-memory shard that answers the page statements of scatterOrdered by their documented
// parameter layout: the caller's params, then (after a key) one text per order-by column, then the
// page size. It sorts with its own comparator (UTF-8 bytes for text, BigInt for integers), not the
// package's, so the oracle does not share the merge's code.
// ---------------------------------------------------------------------------------------------

interface Post extends Record<string, unknown> {
  id: string
  a: number
  b: string
}

function compareValue(type: OrderByColumn['type'], x: unknown, y: unknown): number {
  if (type === 'integer') {
    const [p, q] = [BigInt(x as string | number), BigInt(y as string | number)]
    return p < q ? -1 : p > q ? 1 : 0
  }
  return Buffer.compare(Buffer.from(String(x)), Buffer.from(String(y)))
}

function compareRows(
  orderBy: readonly OrderByColumn[],
  x: Record<string, unknown>,
  y: Record<string, unknown>,
) {
  for (const c of orderBy) {
    const order = compareValue(c.type, x[c.column], y[c.column])
    if (order !== 0) return c.direction === 'asc' ? order : -order
  }
  return 0
}

function sortRows<T extends Record<string, unknown>>(
  rows: readonly T[],
  orderBy: readonly OrderByColumn[],
): T[] {
  return [...rows].sort((x, y) => compareRows(orderBy, x, y))
}

interface FakeShard extends ScatterTarget {
  /** Rows returned, in all. */
  rowsServed: number
  calls: number
  signals: AbortSignal[]
}

function fakeShard(
  label: string,
  rows: readonly Record<string, unknown>[],
  orderBy: readonly OrderByColumn[],
  options: { paramCount?: number; behaviour?: (signal: AbortSignal | undefined) => Promise<void> } = {},
): FakeShard {
  const paramCount = options.paramCount ?? 0
  const shard: FakeShard = {
    label,
    database: label.split('/')[0]!,
    table: label.split('/')[1] ?? label,
    rowsServed: 0,
    calls: 0,
    signals: [],
    async query<R>(sql: string, params: readonly unknown[], { signal }: { signal?: AbortSignal }) {
      shard.calls++
      if (signal) shard.signals.push(signal)
      await options.behaviour?.(signal)
      expect(sql).toMatch(new RegExp(`LIMIT \\$${params.length}$`))
      const limit = params.at(-1) as number
      const after =
        params.length > paramCount + 1 ? params.slice(paramCount, paramCount + orderBy.length) : undefined
      const afterRow = after && Object.fromEntries(orderBy.map((c, i) => [c.column, after[i]]))
      const page = sortRows(rows, orderBy)
        .filter((row) => afterRow === undefined || compareRows(orderBy, row, afterRow) > 0)
        .slice(0, limit)
        .map((row) => ({
          ...row,
          ...Object.fromEntries(orderBy.map((c, i) => [`__hf_k${i}`, String(row[c.column])])),
        }))
      shard.rowsServed += page.length
      return { rows: page as R[] }
    },
  }
  return shard
}

function spread(
  rows: readonly Post[],
  shards: number,
  orderBy: readonly OrderByColumn[],
  pick = (_: Post, i: number) => i,
) {
  const parts: Post[][] = Array.from({ length: shards }, () => [])
  rows.forEach((row, i) => {
    parts[pick(row, i) % shards]!.push(row)
  })
  return parts.map((part, i) => fakeShard(`db_${i % 4}/posts_${i}`, part, orderBy))
}

async function allPages(targets: readonly ScatterTarget[], orderBy: readonly OrderByColumn[], limit: number) {
  const pages: Post[][] = []
  let cursor: string | null = null
  do {
    const page: { rows: Post[]; nextCursor: string | null } = await scatterOrdered<Post>(targets, {
      sql: 'SELECT id, a, b FROM {t}',
      orderBy,
      limit,
      cursor,
    })
    pages.push(page.rows)
    cursor = page.nextCursor
    if (pages.length > 10_000) throw new Error('the walk does not end')
  } while (cursor !== null)
  return pages
}

async function rejection(promise: Promise<unknown>): Promise<ShardError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(outcome).toBeInstanceOf(ShardError)
  return outcome as ShardError
}

const byId: OrderByColumn[] = [{ column: 'id', direction: 'desc', type: 'integer' }]
const byAThenId: OrderByColumn[] = [
  { column: 'a', direction: 'desc', type: 'integer' },
  { column: 'id', direction: 'desc', type: 'integer' },
]

function posts(n: number, seed = 1): Post[] {
  // Deterministic, with heavy ties on `a`; ids beyond 2^53 so any float would lose them.
  return Array.from({ length: n }, (_, i) => ({
    id: (9_007_199_254_740_993n + BigInt((i * 7919 + seed * 104_729) % 1_000_003)).toString(),
    a: (i * 31 + seed) % 5,
    b: ['a', 'B', 'é', '\uE000', '𝒜', ''][i % 6]!,
  }))
}

// ---------------------------------------------------------------------------------------------

describe('scatterOrdered: pages concatenated equal the single sorted list', () => {
  const textAlphabet = ['', 'a', 'aa', 'B', 'b', 'é', 'z', '\uE000', '\uFFFD', '𝒜', '😀', 'a\u0000']
  const rowsArbitrary = fc.uniqueArray(
    fc.record({
      id: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
      a: fc.integer({ min: -2, max: 2 }),
      b: fc.constantFrom(...textAlphabet),
      shard: fc.nat(),
    }),
    { selector: (r) => r.id, maxLength: 60 },
  )
  const orderArbitrary = fc
    .tuple(
      fc.shuffledSubarray(['a', 'b'] as const),
      fc.array(fc.constantFrom('asc', 'desc' as const), { minLength: 3, maxLength: 3 }),
    )
    .map(([leading, directions]): OrderByColumn[] => [
      ...leading.map(
        (column, i): OrderByColumn => ({
          column,
          direction: directions[i]!,
          type: column === 'a' ? 'integer' : 'text',
        }),
      ),
      { column: 'id', direction: directions[2]!, type: 'integer' },
    ])

  it('for random rows, shard counts, page sizes, directions and multi-column orders with ties', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArbitrary,
        orderArbitrary,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 9 }),
        async (rows, orderBy, shardCount, limit) => {
          const data = rows.map(({ shard: _, ...row }) => row)
          const targets = spread(data, shardCount, orderBy, (_, i) => rows[i]!.shard)
          const pages = await allPages(targets, orderBy, limit)
          const ids = pages.flat().map((r) => r.id)
          expect(ids).toEqual(sortRows(data, orderBy).map((r) => r.id))
          // Every page but the last is full; the last may be empty only when the one before ended a shard's full page.
          for (const page of pages.slice(0, -1)) expect(page).toHaveLength(limit)
          expect(pages.at(-1)!.length).toBeLessThanOrEqual(limit)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('streamOrdered yields the same list, for any page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArbitrary,
        orderArbitrary,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 9 }),
        async (rows, orderBy, shardCount, pageSize) => {
          const data = rows.map(({ shard: _, ...row }) => row)
          const targets = spread(data, shardCount, orderBy, (_, i) => rows[i]!.shard)
          const seen: string[] = []
          for await (const row of streamOrdered<Post>(targets, {
            sql: 'SELECT * FROM {t}',
            orderBy,
            pageSize,
          })) {
            seen.push(row.id)
          }
          expect(seen).toEqual(sortRows(data, orderBy).map((r) => r.id))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('returns the callers columns only, not the hidden key columns', async () => {
    const targets = spread(posts(10), 3, byAThenId)
    const { rows } = await scatterOrdered<Post>(targets, {
      sql: 'SELECT * FROM {t}',
      orderBy: byAThenId,
      limit: 4,
    })
    expect(Object.keys(rows[0]!).sort()).toEqual(['a', 'b', 'id'])
  })

  it('a cursor of scatterOrdered lets streamOrdered continue from the same row', async () => {
    const data = posts(50)
    const targets = spread(data, 5, byAThenId)
    const sql = 'SELECT * FROM {t}'
    const first = await scatterOrdered<Post>(targets, { sql, orderBy: byAThenId, limit: 7 })
    const rest: string[] = []
    for await (const row of streamOrdered<Post>(targets, {
      sql,
      orderBy: byAThenId,
      cursor: first.nextCursor,
    })) {
      rest.push(row.id)
    }
    expect([...first.rows.map((r) => r.id), ...rest]).toEqual(sortRows(data, byAThenId).map((r) => r.id))
  })
})

describe('scatterOrdered: laziness', () => {
  it('LIMIT 10 over 16 shards reads one page of at most 10 rows from each shard', async () => {
    const targets = spread(posts(1600), 16, byAThenId)
    const page = await scatterOrdered<Post>(targets, {
      sql: 'SELECT * FROM {t}',
      orderBy: byAThenId,
      limit: 10,
    })
    expect(page.rows).toHaveLength(10)
    for (const shard of targets) {
      expect(shard.calls).toBe(1)
      expect(shard.rowsServed).toBeLessThanOrEqual(10)
    }
  })

  it('does not fetch the next page of a shard that supplied the whole page', async () => {
    // Shard 0 holds the 10 largest ids: its page is used up exactly at the limit, and is not refilled.
    const data = posts(160).sort((x, y) => compareRows(byId, x, y))
    const targets = spread(data, 16, byId, (_, i) => (i < 10 ? 0 : 1 + (i % 15)))
    const page = await scatterOrdered<Post>(targets, { sql: 'SELECT * FROM {t}', orderBy: byId, limit: 10 })
    expect(page.rows.map((r) => r.id)).toEqual(data.slice(0, 10).map((r) => r.id))
    expect(targets.map((t) => t.calls)).toEqual(Array(16).fill(1))
    expect(page.nextCursor).not.toBeNull()
  })

  it('a stream stopped after 25 rows read at most one page per shard beyond what it used', async () => {
    const targets = spread(posts(1600), 16, byAThenId)
    let taken = 0
    for await (const _ of streamOrdered(targets, {
      sql: 'SELECT * FROM {t}',
      orderBy: byAThenId,
      pageSize: 10,
    })) {
      if (++taken === 25) break
    }
    const served = targets.reduce((sum, t) => sum + t.rowsServed, 0)
    expect(served).toBeLessThanOrEqual(25 + 16 * 10)
    expect(targets.every((t) => t.calls <= 3)).toBe(true)
  })

  it('asks each shard for pages of `limit` rows on every page of a walk', async () => {
    const targets = spread(posts(200), 16, byAThenId)
    const pages = await allPages(targets, byAThenId, 10)
    expect(pages.flat()).toHaveLength(200)
    // 21 pages (the last empty or short); a shard is asked at most once per page it contributes to, plus once per page.
    for (const shard of targets) expect(shard.calls).toBeLessThanOrEqual(2 * pages.length)
  })
})

describe('scatterOrdered: cursors', () => {
  const sql = 'SELECT * FROM {t}'
  const targets = spread(posts(40), 4, byAThenId)

  async function firstCursor(): Promise<string> {
    const { nextCursor } = await scatterOrdered(targets, { sql, orderBy: byAThenId, limit: 5 })
    expect(nextCursor).toEqual(expect.any(String))
    return nextCursor!
  }

  function reencode(cursor: string, edit: (body: Record<string, unknown>) => void): string {
    const body = JSON.parse(Buffer.from(cursor, 'base64url').toString())
    edit(body)
    return Buffer.from(JSON.stringify(body)).toString('base64url')
  }

  it('is opaque base64url', async () => {
    expect(await firstCursor()).toMatch(/^[A-Za-z0-9_-]+$/)
  })

  it.each([
    ['garbage', () => 'not a cursor!'],
    ['empty', () => ''],
    ['cut short', (c: string) => c.slice(0, c.length - 5)],
    ['a key edited', (c: string) => reencode(c, (b) => (b['k'] as string[]).splice(0, 1, '123'))],
    ['a key dropped', (c: string) => reencode(c, (b) => (b['k'] as string[]).pop())],
    ['another version', (c: string) => reencode(c, (b) => (b['v'] = 2))],
    ['not JSON', () => Buffer.from('{"v":1,').toString('base64url')],
  ])('is refused when %s, with E_INVALID_CURSOR', async (_, tamper) => {
    const cursor = tamper(await firstCursor())
    const error = await rejection(scatterOrdered(targets, { sql, orderBy: byAThenId, limit: 5, cursor }))
    expect(error.code).toBe('E_INVALID_CURSOR')
  })

  it('is refused for another query shape: other sql, other params, other order', async () => {
    const cursor = await firstCursor()
    const other = [
      { sql: 'SELECT * FROM {t} WHERE a > 0', orderBy: byAThenId },
      { sql, params: [1], orderBy: byAThenId },
      { sql, orderBy: byAThenId.map((c) => ({ ...c, direction: 'asc' as const })) },
      { sql, orderBy: byId },
    ]
    for (const shape of other) {
      const error = await rejection(scatterOrdered(targets, { ...shape, limit: 5, cursor }))
      expect(error.code).toBe('E_INVALID_CURSOR')
    }
    expect(streamOrdered.bind(null, targets, { sql, orderBy: byId, cursor })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CURSOR' }),
    )
  })

  it('survives a change of page size', async () => {
    const cursor = await firstCursor()
    const { rows } = await scatterOrdered<Post>(targets, { sql, orderBy: byAThenId, limit: 100, cursor })
    expect(rows.map((r) => r.id)).toEqual(
      sortRows(posts(40), byAThenId)
        .slice(5)
        .map((r) => r.id),
    )
  })

  it('is null after the last row', async () => {
    const { rows, nextCursor } = await scatterOrdered(targets, { sql, orderBy: byAThenId, limit: 41 })
    expect(rows).toHaveLength(40)
    expect(nextCursor).toBeNull()
  })
})

describe('scatterOrdered: what it refuses', () => {
  const sql = 'SELECT * FROM {t}'

  it('refuses an offset beyond maxOffset (default 0) with E_DEEP_OFFSET, naming both', async () => {
    const targets = spread(posts(40), 4, byAThenId)
    const error = await rejection(scatterOrdered(targets, { sql, orderBy: byAThenId, limit: 5, offset: 20 }))
    expect(error).toMatchObject({ code: 'E_DEEP_OFFSET', offset: 20, maxOffset: 0 })
    expect(targets.every((t) => t.calls === 0)).toBe(true)
    const deeper = await rejection(
      scatterOrdered(targets, { sql, orderBy: byAThenId, limit: 5, offset: 51, maxOffset: 50 }),
    )
    expect(deeper).toMatchObject({ code: 'E_DEEP_OFFSET', offset: 51, maxOffset: 50 })
  })

  it('honours an offset within maxOffset: each shard is asked for offset + limit rows', async () => {
    const data = posts(40)
    const targets = spread(data, 4, byAThenId)
    const { rows } = await scatterOrdered<Post>(targets, {
      sql,
      orderBy: byAThenId,
      limit: 5,
      offset: 12,
      maxOffset: 20,
    })
    expect(rows.map((r) => r.id)).toEqual(
      sortRows(data, byAThenId)
        .slice(12, 17)
        .map((r) => r.id),
    )
  })

  it('fails with E_INVALID_OPTION when rows tie on every order-by column across shards', async () => {
    const row = { id: '1', a: 0, b: 'x' }
    const targets = [fakeShard('d/t0', [row], byId), fakeShard('d/t1', [row], byId)]
    const error = await rejection(scatterOrdered(targets, { sql, orderBy: byId, limit: 5 }))
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option: 'options.orderBy' })
  })

  it('fails with E_INVALID_OPTION on a NULL order-by value, naming the column and the shard', async () => {
    const target = fakeShard('d/t0', [{ id: '1', a: 0 }], byAThenId)
    const query = target.query.bind(target)
    target.query = async (s, p, o) => {
      const result = await query(s, p, o)
      return { rows: result.rows.map((r) => ({ ...(r as object), __hf_k0: null })) } as never
    }
    const error = await rejection(scatterOrdered([target], { sql, orderBy: byAThenId, limit: 5 }))
    expect(error).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.orderBy[0]',
      physicalTable: 't0',
    })
    expect(error.message).toContain('NULL')
  })

  it('streamOrdered checks its options when called, before any iteration', () => {
    const target = fakeShard('d/t', [], byId)
    expect(() => streamOrdered([target], { sql, orderBy: [] })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options.orderBy' }),
    )
    expect(() => streamOrdered([target], { sql, orderBy: byId, pageSize: 0 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options.pageSize' }),
    )
  })

  it.each([
    [{ limit: 0 }, 'options.limit'],
    [{ limit: 1.5 }, 'options.limit'],
    [{ orderBy: [] }, 'options.orderBy'],
    [{ orderBy: [{ column: 'id', direction: 'up', type: 'integer' }] }, 'options.orderBy[0].direction'],
    [{ orderBy: [{ column: 'id', direction: 'asc' }] }, 'options.orderBy[0].type'],
    [{ orderBy: [{ column: '__hf_k0', direction: 'asc', type: 'integer' }] }, 'options.orderBy[0].column'],
    [{ sql: ' ' }, 'options.sql'],
    [{ maxConcurrency: 0 }, 'options.maxConcurrency'],
    [{ offset: -1 }, 'options.offset'],
  ])('validates options eagerly: %o → %s', async (bad, option) => {
    const target = fakeShard('d/t', [], byId)
    const error = await rejection(
      scatterOrdered([target], { sql, orderBy: byId, limit: 5, ...(bad as object) }),
    )
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option })
    expect(target.calls).toBe(0)
  })
})

describe('scatterOrdered: failures, aborts and concurrency', () => {
  const sql = 'SELECT * FROM {t}'

  it('one abort cancels every in-flight shard query and fails with E_ABORTED', async () => {
    const started: string[] = []
    const hang = (label: string) => (signal: AbortSignal | undefined) =>
      new Promise<void>((_, reject) => {
        started.push(label)
        signal?.addEventListener('abort', () => reject(new Error('cancelled')), { once: true })
      })
    const targets = Array.from({ length: 8 }, (_, i) =>
      fakeShard(`d/t${i}`, posts(5, i), byId, { behaviour: hang(`d/t${i}`) }),
    )
    const controller = new AbortController()
    const pending = scatterOrdered(targets, { sql, orderBy: byId, limit: 5, signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(started).toHaveLength(8)
    controller.abort(new Error('client went away'))
    const error = await rejection(pending)
    expect(error.code).toBe('E_ABORTED')
    expect((error.cause as Error).message).toBe('client went away')
    for (const target of targets) expect(target.signals.every((s) => s.aborted)).toBe(true)
  })

  it('an abort wins even over a target that ignores its signal', async () => {
    const never = () => new Promise<void>(() => {})
    const targets = [fakeShard('d/t0', posts(3), byId, { behaviour: never })]
    const controller = new AbortController()
    const pending = scatterOrdered(targets, { sql, orderBy: byId, limit: 5, signal: controller.signal })
    setTimeout(() => controller.abort(), 5)
    expect((await rejection(pending)).code).toBe('E_ABORTED')
  })

  it('aborts a stream mid-walk, between pages', async () => {
    const controller = new AbortController()
    const targets = spread(posts(100), 4, byId)
    const seen: string[] = []
    const error = await rejection(
      (async () => {
        for await (const row of streamOrdered<Post>(targets, {
          sql,
          orderBy: byId,
          pageSize: 5,
          signal: controller.signal,
        })) {
          seen.push(row.id)
          if (seen.length === 12) controller.abort()
        }
      })(),
    )
    expect(error.code).toBe('E_ABORTED')
    expect(seen.length).toBeLessThan(100)
  })

  it('any shard failure fails the call with E_SHARD_QUERY naming the shard, and cancels the others', async () => {
    const boom = new Error('relation "posts_3" does not exist')
    const targets = Array.from({ length: 6 }, (_, i) =>
      fakeShard(`db_1/posts_${i}`, posts(5, i), byId, {
        behaviour: (signal) =>
          i === 3
            ? Promise.reject(boom)
            : new Promise<void>((resolve, reject) => {
                const timer = setTimeout(resolve, 1000)
                signal?.addEventListener('abort', () => {
                  clearTimeout(timer)
                  reject(new Error('cancelled'))
                })
              }),
      }),
    )
    const events: ShardQueryEvent[] = []
    const started = Date.now()
    const error = await rejection(
      scatterOrdered(targets, { sql, orderBy: byId, limit: 5, onShardQuery: (e) => events.push(e) }),
    )
    expect(Date.now() - started).toBeLessThan(500)
    expect(error).toMatchObject({
      code: 'E_SHARD_QUERY',
      database: 'db_1',
      physicalTable: 'posts_3',
      cause: boom,
    })
    expect(error.message).toContain('db_1/posts_3')
    expect(targets.every((t) => t.signals.every((s) => s.aborted))).toBe(true)
    expect(events.find((e) => e.label === 'db_1/posts_3')).toMatchObject({ rows: 0, error: boom })
  })

  it('runs at most maxConcurrency shard queries at once', async () => {
    let running = 0
    let peak = 0
    const behaviour = async () => {
      peak = Math.max(peak, ++running)
      await new Promise((resolve) => setTimeout(resolve, 2))
      running--
    }
    const targets = Array.from({ length: 12 }, (_, i) =>
      fakeShard(`d/t${i}`, posts(3, i), byId, { behaviour }),
    )
    const page = await scatterOrdered(targets, { sql, orderBy: byId, limit: 5, maxConcurrency: 3 })
    expect(page.rows).toHaveLength(5)
    expect(peak).toBe(3)
  })

  it('tells onShardQuery of every statement, with its rows and duration, and ignores a throwing hook', async () => {
    const targets = spread(posts(30), 3, byId)
    const events: ShardQueryEvent[] = []
    await scatterOrdered(targets, {
      sql,
      orderBy: byId,
      limit: 4,
      onShardQuery: (event) => {
        events.push(event)
        throw new Error('metrics are down')
      },
    })
    expect(events).toHaveLength(targets.reduce((n, t) => n + t.calls, 0))
    for (const event of events) {
      expect(event).toMatchObject({ rows: expect.any(Number), durationMs: expect.any(Number) })
      expect(event.error).toBeUndefined()
    }
  })
})
