import { type Cluster, createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { testServerUrl } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shardHash, shardHashSql, shardIndexes } from '../src/index.js'

// The hash is a contract between this package and any SQL that has to find rows (verification,
// cleanup after a reshard): PostgreSQL must compute exactly what the router does.

const integerKeys: bigint[] = [
  ...Array.from({ length: 600 }, (_, i) => BigInt(i)),
  ...Array.from({ length: 400 }, (_, i) => (1n << 62n) + BigInt(i) * 7919n), // Snowflake-sized ids
  -1n,
  -9_223_372_036_854_775_808n,
  9_223_372_036_854_775_807n,
]
const textKeys: string[] = [
  ...Array.from({ length: 1000 }, (_, i) => `user_${i}`),
  '',
  'naïve',
  '日本語のユーザー',
  'emoji 🚀',
  "o'brien",
]

describe('shardHash', () => {
  let db: Cluster
  beforeAll(() => {
    db = createCluster({ driver: pgDriver({ connectionString: testServerUrl() }), pool: { max: 1 } })
  })
  afterAll(async () => {
    await db?.end()
  })

  it('is computed alike by PostgreSQL for 1003 integer keys, at 16 and at 32 databases', async () => {
    const at16 = shardHashSql('k', { databases: 16, tables: 64 })
    const at32 = shardHashSql('k', { databases: 32, tables: 64 })
    const { rows } = await db.query<{
      k: string
      d16: number
      d32: number
      t: number
      lo: string
      hi: string
    }>(
      `SELECT k::text AS k, ${at16.database}::int AS d16, ${at32.database}::int AS d32, ${at16.table}::int AS t,
              ${at16.lo} AS lo, ${at16.hi} AS hi
       FROM unnest($1::bigint[]) AS k`,
      [integerKeys.map(String)],
    )
    expect(rows).toHaveLength(integerKeys.length)
    for (const row of rows) {
      const key = BigInt(row.k)
      const { lo, hi } = shardHash(key)
      expect([Number(row.lo), Number(row.hi)]).toEqual([lo, hi])
      expect(row.d16).toBe(shardIndexes(key, 16, 64).database)
      expect(row.d32).toBe(shardIndexes(key, 32, 64).database)
      expect(row.t).toBe(shardIndexes(key, 32, 64).table)
    }
  })

  it('is computed alike by PostgreSQL for 1005 text keys, Unicode included', async () => {
    const where = shardHashSql('k', { databases: 16, tables: 64 })
    const { rows } = await db.query<{ k: string; d: number; t: number }>(
      `SELECT k, ${where.database}::int AS d, ${where.table}::int AS t FROM unnest($1::text[]) AS k`,
      [textKeys],
    )
    expect(rows.map((r) => r.k)).toEqual(textKeys)
    for (const row of rows) expect([row.d, row.t]).toEqual(Object.values(shardIndexes(row.k, 16, 64)))
  })

  it('sends a row to database d or d + 16 when 16 databases become 32, and never changes its table', () => {
    let moved = 0
    for (let i = 0; i < 20_000; i++) {
      const key = BigInt(i) * 104_729n
      const before = shardIndexes(key, 16, 64)
      const after = shardIndexes(key, 32, 64)
      expect([before.database, before.database + 16]).toContain(after.database)
      expect(after.table).toBe(before.table)
      if (after.database !== before.database) moved++
    }
    // About half the rows move (each old database splits in two).
    expect(moved / 20_000).toBeGreaterThan(0.45)
    expect(moved / 20_000).toBeLessThan(0.55)
  })

  it('spreads 65,536 sequential ids evenly over databases, tables and the 1024 cells (chi-square)', () => {
    const n = 65_536
    const databases = new Array(16).fill(0)
    const tables = new Array(64).fill(0)
    const cells = new Array(16 * 64).fill(0)
    for (let i = 1; i <= n; i++) {
      const { database, table } = shardIndexes(i, 16, 64)
      databases[database]++
      tables[table]++
      cells[database * 64 + table]++
    }
    const chi = (counts: number[]) => {
      const expected = n / counts.length
      return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
    }
    // Critical values at p = 0.001 for 15, 63 and 1023 degrees of freedom.
    expect(chi(databases)).toBeLessThan(37.7)
    expect(chi(tables)).toBeLessThan(103.4)
    expect(chi(cells)).toBeLessThan(1168)
  })
})
