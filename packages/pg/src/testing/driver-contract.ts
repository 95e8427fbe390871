import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asPool, type Cluster, createCluster, type Driver, PgError, type TypeParsers } from '../index.js'

/** What a contract run needs: a fresh, empty database behind a driver, and a way to remove it. */
export interface DriverFixture {
  /** The driver of the database under test. */
  driver(): Driver
  /** A driver of a separate database, for tests that need a pool of their own. */
  otherDriver(): Driver
  cleanup(): Promise<void>
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<PgError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it succeeded`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(PgError)
  expect((err as PgError).code).toBe(code)
  return err as PgError
}

/** What differs between drivers by nature, so the contract can say what each one promises. */
export interface DriverCapabilities {
  /** A statement already running on the server can be interrupted by its signal (false for PGlite,
   * which runs a statement synchronously on the caller's thread: the abort takes effect at the next await). */
  interruptsStatements: boolean
}

/** Starts a transaction that keeps the pool's only session until `release()` is called. */
async function holdSession(cluster: Cluster): Promise<{ held: Promise<void>; release: () => void }> {
  let release!: () => void
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  const held = cluster.transaction(() => {
    started()
    return new Promise<void>((resolve) => (release = resolve))
  })
  await running
  return { held, release }
}

/**
 * The behaviour every driver must have, written once and run against each of them
 * (node-postgres on a real server, PGlite in-process).
 */
export function registerDriverContract(
  name: string,
  capabilities: DriverCapabilities,
  makeFixture: () => Promise<DriverFixture>,
): void {
  describe(`driver contract: ${name}`, () => {
    let fixture: DriverFixture
    let db: Cluster

    beforeAll(async () => {
      fixture = await makeFixture()
      db = createCluster({ driver: fixture.driver(), pool: { acquireTimeoutMs: 2000 } })
      await db.exec(`
        CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), data jsonb,
                            created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE counters (k text PRIMARY KEY, v int NOT NULL);
      `)
    })

    afterAll(async () => {
      await db?.end()
      await fixture?.cleanup()
    })

    it('maps types the same way on every driver', async () => {
      const { rows } = await db.read<Record<string, unknown>>(
        `SELECT 9223372036854775807::int8 AS big, 12.50::numeric AS num, 1.5::float8 AS f, 42::int4 AS i,
                true AS b, NULL::text AS n, '{"a":[1,"x"]}'::jsonb AS j, now() AS t, $1::text AS p`,
        ['it\'s <b>&"quoted"</b>; DROP TABLE items; --'],
      )
      const row = rows[0]!
      expect(row['big']).toBe('9223372036854775807')
      expect(row['num']).toBe('12.50')
      expect(row['f']).toBe(1.5)
      expect(row['i']).toBe(42)
      expect(row['b']).toBe(true)
      expect(row['n']).toBeNull()
      expect(row['j']).toEqual({ a: [1, 'x'] })
      expect(row['t']).toBeInstanceOf(Date)
      expect(row['p']).toBe('it\'s <b>&"quoted"</b>; DROP TABLE items; --')
    })

    it('honours per-statement types, rowMode and name as node-postgres does, and only for that statement', async () => {
      const asked: Array<[number, string | undefined]> = []
      const types: TypeParsers = {
        getTypeParser: (oid, format) => {
          asked.push([oid, format])
          return oid === 1184 ? (text) => `tz:${text}` : (text) => text
        },
      }
      const sql = `SELECT now() AS t, 42::int4 AS i, NULL::int4 AS n, '{"a":1}'::jsonb AS j, 1.5::float8 AS f`
      const { rows } = await db.read<Record<string, unknown>>(sql, [], { types })
      expect(rows[0]!['t']).toMatch(/^tz:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
      expect(rows[0]).toMatchObject({ i: '42', n: null, j: '{"a": 1}', f: '1.5' })
      expect(asked).toContainEqual([1184, 'text'])
      expect(asked).toContainEqual([23, 'text'])

      const arrays = await db.read<unknown[]>('SELECT 1::int4 AS a, 2::int8 AS b, NULL AS c', [], {
        rowMode: 'array',
        types,
      })
      expect(arrays.rows).toEqual([['1', '2', null]])
      // The next statement has the driver's own mapping again.
      const plain = await db.read<Record<string, unknown>>(sql)
      expect(plain.rows[0]!['t']).toBeInstanceOf(Date)
      expect(plain.rows[0]).toMatchObject({ i: 42, j: { a: 1 }, f: 1.5 })

      for (const n of [1, 2]) {
        const named = await db.read<{ n: number }>('SELECT $1::int4 AS n', [n], { name: 'contract_named' })
        expect(named.rows).toEqual([{ n }])
      }
      const inside = await db.transaction((tx) =>
        tx.query<unknown[]>('SELECT 7::int4 AS seven', [], { rowMode: 'array', types }),
      )
      expect(inside.rows).toEqual([['7']])
      const held = await db.reserve()
      try {
        expect((await held.query('SELECT 8::int4 AS eight', [], 'array')).rows).toEqual([[8]])
        expect((await held.query('SELECT 9::int4 AS nine', [], { types })).rows).toEqual([{ nine: '9' }])
      } finally {
        held.release()
      }
    })

    it('asPool(): refuses transaction control on query(), runs a transaction on one session through connect()', async () => {
      const pool = asPool(db)
      for (const statement of ['BEGIN', 'start transaction', 'COMMIT', 'SAVEPOINT a', 'SELECT 1; ROLLBACK']) {
        const err = await expectCode(pool.query(statement), 'E_TRANSACTION_CONTROL')
        expect(err.message).toContain('connect()')
      }
      const client = await pool.connect()
      await client.query('BEGIN')
      await client.query('INSERT INTO counters (k, v) VALUES ($1, $2)', ['facade', 1])
      const inside = await client.query({ text: 'SELECT v FROM counters WHERE k = $1', values: ['facade'] })
      expect(inside.rows).toEqual([{ v: 1 }])
      await client.query('ROLLBACK')
      client.release()
      expect(
        (await pool.query('SELECT count(*)::int4 AS n FROM counters WHERE k = $1', ['facade'])).rows,
      ).toEqual([{ n: 0 }])
      await expectCode(client.query('SELECT 1'), 'E_POOL_CLOSED')
      const typed = await pool.query({
        text: 'SELECT 5::int4 AS five',
        rowMode: 'array',
        types: { getTypeParser: () => (t) => `<${t}>` },
      })
      expect(typed.rows).toEqual([['<5>']])
      expect(typed.command).toBe('SELECT')
      await pool.end()
      await expectCode(pool.query('SELECT 1'), 'E_POOL_CLOSED')
    })

    it('reports rows affected', async () => {
      const inserted = await db.write('INSERT INTO items (id, name) VALUES ($1, $2), ($3, $4)', [
        '1',
        'a',
        '2',
        'b',
      ])
      expect(inserted.rowCount).toBe(2)
      const again = await db.write('INSERT INTO items (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        '1',
        'a',
      ])
      expect(again.rowCount).toBe(0)
      const selected = await db.query('SELECT id FROM items ORDER BY id')
      expect(selected.rows).toEqual([{ id: '1' }, { id: '2' }])
    })

    it('wraps server errors with SQLSTATE and constraint', async () => {
      const err = await expectCode(
        db.write('INSERT INTO items (id, name) VALUES (1, $1)', ['dup']),
        'E_QUERY',
      )
      expect(err.sqlState).toBe('23505')
      expect(err.constraint).toBe('items_pkey')
      const syntax = await expectCode(db.query('SELEC 1'), 'E_QUERY')
      expect(syntax.sqlState).toBe('42601')
    })

    it('commits a transaction', async () => {
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO counters (k, v) VALUES ($1, $2)', ['a', 1])
        await tx.query('UPDATE counters SET v = v + 1 WHERE k = $1', ['a'])
        return 'done'
      })
      expect(result).toBe('done')
      expect((await db.read('SELECT v FROM counters WHERE k = $1', ['a'])).rows).toEqual([{ v: 2 }])
    })

    it('rolls back everything when the function throws or a statement fails', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO counters (k, v) VALUES ($1, $2)', ['b', 1])
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      await expectCode(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO counters (k, v) VALUES ($1, $2)', ['c', 1])
          await tx.query('INSERT INTO counters (k, v) VALUES ($1, $2)', ['c', 2])
        }),
        'E_QUERY',
      )
      expect((await db.read('SELECT k FROM counters WHERE k IN ($1, $2)', ['b', 'c'])).rows).toEqual([])
      // The session is clean afterwards: a plain statement is not inside a dead transaction.
      expect((await db.read('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    })

    it('runs many concurrent statements through a small pool', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => db.read<{ n: number }>('SELECT $1::int AS n', [i])),
      )
      expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 40 }, (_, i) => i))
      expect(db.stats().primary!.waiting).toBe(0)
    })

    it('fails with E_POOL_TIMEOUT when no session frees up in time, and removes the waiter', async () => {
      const small = createCluster({ driver: fixture.otherDriver(), pool: { max: 1, acquireTimeoutMs: 100 } })
      try {
        const { held, release } = await holdSession(small)
        const err = await expectCode(small.read('SELECT 1'), 'E_POOL_TIMEOUT')
        expect(err.context['acquireTimeoutMs']).toBe(100)
        expect(small.stats().primary!.waiting).toBe(0)
        release()
        await held
        expect((await small.read('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
      } finally {
        await small.end()
      }
    })

    it('honours an AbortSignal before the call and while waiting for a session', async () => {
      await expectCode(db.read('SELECT 1', [], { signal: AbortSignal.abort() }), 'E_ABORTED')
      const small = createCluster({ driver: fixture.otherDriver(), pool: { max: 1, acquireTimeoutMs: 5000 } })
      try {
        const { held, release } = await holdSession(small)
        const controller = new AbortController()
        const waiting = small.read('SELECT 1', [], { signal: controller.signal })
        await sleep(10)
        expect(small.stats().primary!.waiting).toBe(1)
        controller.abort(new Error('client went away'))
        await expectCode(waiting, 'E_ABORTED')
        expect(small.stats().primary!.waiting).toBe(0)
        release()
        await held
      } finally {
        await small.end()
      }
    })

    it('aborts a statement in flight and keeps the pool usable', async () => {
      if (capabilities.interruptsStatements) {
        const signal = AbortSignal.timeout(50)
        const err = await expectCode(db.read('SELECT pg_sleep(5)', [], { signal }), 'E_ABORTED')
        expect(err.cause).toBe(signal.reason)
      } else {
        const controller = new AbortController()
        const pending = db.read('SELECT 1', [], { signal: controller.signal })
        controller.abort(new Error('gone'))
        await expectCode(pending, 'E_ABORTED')
      }
      expect((await db.read('SELECT 3 AS three')).rows).toEqual([{ three: 3 }])
    })

    it('refuses calls after end()', async () => {
      const other = createCluster({ driver: fixture.otherDriver() })
      await other.read('SELECT 1')
      await other.end()
      await other.end()
      await expectCode(other.read('SELECT 1'), 'E_POOL_CLOSED')
    })

    it('validates options with a message naming the option', () => {
      expect(() => createCluster({ driver: fixture.driver(), pool: { max: 0 } })).toThrow('options.max')
      expect(() => createCluster({ driver: fixture.driver(), pool: { acquireTimeoutMs: -1 } })).toThrow(
        'options.acquireTimeoutMs',
      )
    })
  })
}
