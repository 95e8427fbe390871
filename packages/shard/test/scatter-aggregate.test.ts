import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ScatterTarget, ShardError, scatterAggregate } from '../src/index.js'

/** A shard that answers every statement with the rows given (its partial aggregates). */
function shard(
  label: string,
  rows: Record<string, unknown>[] | (() => Promise<Record<string, unknown>[]>),
): ScatterTarget {
  return {
    label,
    database: label.split('/')[0]!,
    table: label.split('/')[1]!,
    async query<R>() {
      return { rows: (typeof rows === 'function' ? await rows() : rows) as R[] }
    },
  }
}

async function rejection(promise: Promise<unknown>): Promise<ShardError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(outcome).toBeInstanceOf(ShardError)
  return outcome as ShardError
}

interface Fact {
  g: number | null
  v: bigint
  units: bigint
  scale: number
  shard: number
}

function decimalText(units: bigint, scale: number): string {
  const negative = units < 0n
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0')
  const whole = digits.slice(0, digits.length - scale)
  return `${negative ? '-' : ''}${whole}${scale ? `.${digits.slice(digits.length - scale)}` : ''}`
}

/** What PostgreSQL's GROUP BY g with count, sum(int8), sum(numeric), min, max returns for some rows. */
function partials(facts: readonly Fact[]) {
  const groups = new Map<number | null, Fact[]>()
  for (const fact of facts) groups.set(fact.g, [...(groups.get(fact.g) ?? []), fact])
  return [...groups].map(([g, rows]) => {
    const scale = Math.max(...rows.map((r) => r.scale))
    const decimal = rows.reduce((sum, r) => sum + r.units * 10n ** BigInt(scale - r.scale), 0n)
    const values = rows.map((r) => r.v)
    return {
      g,
      n: String(rows.length),
      total: String(values.reduce((a, b) => a + b, 0n)),
      amount: decimalText(decimal, scale),
      lo: String(values.reduce((a, b) => (b < a ? b : a))),
      hi: String(values.reduce((a, b) => (b > a ? b : a))),
      ignored: 'extra column',
    }
  })
}

const aggregates = { n: 'count', total: 'sum', amount: 'sum', lo: 'min', hi: 'max' } as const

describe('scatterAggregate', () => {
  const factArbitrary = fc.record({
    g: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
    v: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    units: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
    scale: fc.integer({ min: 0, max: 4 }),
    shard: fc.nat(),
  })

  it('merges partial counts, sums, mins and maxes per group exactly as one database would (BigInt oracle)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(factArbitrary, { maxLength: 80 }),
        fc.integer({ min: 1, max: 9 }),
        async (facts, shards) => {
          const targets = Array.from({ length: shards }, (_, i) =>
            shard(`db/t${i}`, partials(facts.filter((f) => f.shard % shards === i))),
          )
          const { rows } = await scatterAggregate(targets, {
            sql: 'SELECT … GROUP BY g',
            aggregates,
            groupBy: ['g'],
          })
          const oracle = partials(facts).map(({ ignored: _, ...row }) => row)
          const byGroup = (a: Record<string, unknown>, b: Record<string, unknown>) =>
            String(a['g']).localeCompare(String(b['g']))
          expect(rows.sort(byGroup)).toEqual(oracle.sort(byGroup))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('without groupBy returns one row, even when no shard has rows', async () => {
    const empty = { n: '0', total: null, lo: null, hi: null }
    const targets = [
      shard('a/t0', [empty]),
      shard('a/t1', [{ n: '3', total: '9007199254740993', lo: '-5', hi: '10' }]),
    ]
    const { rows } = await scatterAggregate(targets, {
      sql: 'SELECT …',
      aggregates: { n: 'count', total: 'sum', lo: 'min', hi: 'max' },
    })
    expect(rows).toEqual([{ n: '3', total: '9007199254740993', lo: '-5', hi: '10' }])
    const none = await scatterAggregate([], { sql: 'SELECT …', aggregates: { n: 'count', total: 'sum' } })
    expect(none.rows).toEqual([{ n: 0, total: null }])
  })

  it('keeps the partials type: numbers add as numbers, bigints as bigints; min/max of Dates by time', async () => {
    const early = new Date('2024-01-01T00:00:00Z')
    const late = new Date('2024-06-01T00:00:00Z')
    const targets = [
      shard('a/t0', [{ f: 0.1, b: 2n ** 64n, first: late, last: early }]),
      shard('a/t1', [{ f: 0.2, b: 1n, first: early, last: late }]),
    ]
    const { rows } = await scatterAggregate(targets, {
      sql: 'SELECT …',
      aggregates: { f: 'sum', b: 'sum', first: 'min', last: 'max' },
    })
    expect(rows).toEqual([{ f: 0.3, b: 2n ** 64n + 1n, first: early, last: late }])
  })

  it('compares min/max strings as numbers when all read as numbers, else (or with type text) as text', async () => {
    const targets = [
      shard('a/t0', [{ x: '10', y: '10', z: 'apple' }]),
      shard('a/t1', [{ x: '9', y: '9', z: 'Banana' }]),
    ]
    const { rows } = await scatterAggregate(targets, {
      sql: 'SELECT …',
      aggregates: { x: 'max', y: { op: 'max', type: 'text' }, z: 'min' },
    })
    expect(rows).toEqual([{ x: '10', y: '9', z: 'Banana' }])
  })

  it('refuses avg, naming the column and saying what to do instead', async () => {
    const error = await rejection(
      scatterAggregate([shard('a/t0', [])], { sql: 'SELECT avg(x) AS m', aggregates: { m: 'avg' as never } }),
    )
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option: 'options.aggregates.m' })
    expect(error.message).toMatch(/sum.*count/)
  })

  it.each([
    [{ aggregates: {} }, 'options.aggregates'],
    [{ aggregates: { n: 'median' } }, 'options.aggregates.n'],
    [{ aggregates: { n: { op: 'min', type: 'date' } } }, 'options.aggregates.n.type'],
    [{ groupBy: ['n'] }, 'options.groupBy'],
    [{ groupBy: 'g' }, 'options.groupBy'],
  ])('validates options: %o → %s', async (bad, option) => {
    const error = await rejection(
      scatterAggregate([shard('a/t0', [])], {
        sql: 'SELECT …',
        aggregates: { n: 'count' },
        ...(bad as object),
      }),
    )
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option })
  })

  it('fails when a shard returns several rows without groupBy, a missing column, or a non-number', async () => {
    const many = await rejection(
      scatterAggregate([shard('a/t0', [{ n: '1' }, { n: '2' }])], {
        sql: 'SELECT …',
        aggregates: { n: 'count' },
      }),
    )
    expect(many).toMatchObject({ code: 'E_INVALID_OPTION', option: 'options.groupBy', physicalTable: 't0' })
    const missing = await rejection(
      scatterAggregate([shard('a/t1', [{ count: '1' }])], { sql: 'SELECT …', aggregates: { n: 'count' } }),
    )
    expect(missing).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.aggregates.n',
      physicalTable: 't1',
    })
    const text = await rejection(
      scatterAggregate([shard('a/t1', [{ n: 'many' }])], { sql: 'SELECT …', aggregates: { n: 'sum' } }),
    )
    expect(text).toMatchObject({ code: 'E_INVALID_OPTION', option: 'options.aggregates.n' })
  })

  it('fails with E_SHARD_QUERY when any shard fails: a total missing a shard would be wrong', async () => {
    const boom = new Error('connection refused')
    const targets = [shard('a/t0', [{ n: '1' }]), shard('b/t1', () => Promise.reject(boom))]
    const error = await rejection(scatterAggregate(targets, { sql: 'SELECT …', aggregates: { n: 'count' } }))
    expect(error).toMatchObject({ code: 'E_SHARD_QUERY', database: 'b', physicalTable: 't1', cause: boom })
  })
})
