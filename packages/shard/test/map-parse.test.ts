import { describe, expect, it } from 'vitest'
import { createShardRouter, parseShardMap, type ShardMapDocument, shardIndexes } from '../src/index.js'
import { thrown } from './support/caught.js'

const base: ShardMapDocument = {
  version: 1,
  name: 'app',
  servers: { a: { primary: 'postgres://app@10.0.0.1:5432' }, b: { primary: 'postgres://app@10.0.0.2:5432' } },
  tables: {
    users: { type: 'hash', key: 'user_id', binding: 'user' },
    posts: { type: 'hash', key: 'author_id', binding: 'user' },
    usernames: { type: 'lookup', key: 'username', value: 'user_id', target: 'users' },
    timeline: { type: 'range', key: 'user_id', rangeColumn: 'created_at', interval: 'month', ahead: 2 },
    audit: { type: 'range', rangeColumn: 'at', interval: 'day' },
    countries: { type: 'broadcast' },
  },
}

/** The base map with one change made by `edit` on a deep copy. */
function variant(edit: (doc: any) => void): unknown {
  const doc = structuredClone(base) as any
  edit(doc)
  return doc
}

describe('parseShardMap', () => {
  it('applies the defaults: 16 databases named <name>_<dd> round-robin over the servers, 64 tables', () => {
    const map = parseShardMap(base)
    expect(map.databases.map((d) => d.name)).toEqual(
      Array.from({ length: 16 }, (_, i) => `app_${String(i).padStart(2, '0')}`),
    )
    expect(map.databases.map((d) => d.server.name).slice(0, 4)).toEqual(['a', 'b', 'a', 'b'])
    expect(map.rule('users')).toMatchObject({ type: 'hash', tables: 64, binding: 'user' })
    expect(map.rule('timeline')).toMatchObject({ ahead: 2, tables: 64 })
    expect(map.rule('audit')).toMatchObject({ tables: 1, key: undefined, ahead: 3 })
    expect(map.locations('users')).toHaveLength(16 * 64)
  })

  it('round-trips through toJSON and JSON text', () => {
    const map = parseShardMap(JSON.stringify(base))
    const again = parseShardMap(JSON.parse(JSON.stringify(map.toJSON())))
    expect(again.toJSON()).toEqual(map.toJSON())
  })

  it('resolves a key to the database lo % 16 and the table hi % 64 of its hash', () => {
    const map = parseShardMap(base)
    const where = map.resolve('users', 42n)
    const { database, table } = shardIndexes(42n, 16, 64)
    expect(where).toMatchObject({ databaseIndex: database, tableIndex: table, table: 'users' })
    expect(where.physicalTable).toBe(`users_${String(table).padStart(2, '0')}`)
    expect(where.database).toBe(`app_${String(database).padStart(2, '0')}`)
    // the same number as a bigint, a number and a string lands alike; resolution reuses one object
    expect(map.resolve('users', 42)).toBe(where)
    expect(map.resolve('users', '42')).toBe(where)
  })

  it('puts bound tables of one key in the same database at the same table index', () => {
    const map = parseShardMap(base)
    for (let key = 0; key < 200; key++) {
      const user = map.resolve('users', key)
      const post = map.resolve('posts', key)
      expect([post.databaseIndex, post.tableIndex]).toEqual([user.databaseIndex, user.tableIndex])
    }
  })

  it('names range tables by period, keyless ones in the first database only', () => {
    const map = parseShardMap(base)
    const at = new Date('2026-12-31T23:59:59Z')
    expect(map.resolve('timeline', 7, at).physicalTable).toMatch(/^timeline_\d\d_202612$/)
    const audit = map.resolve('audit', undefined, at)
    expect([audit.physicalTable, audit.databaseIndex]).toEqual(['audit_20261231', 0])
  })

  it('takes an explicit server per database', () => {
    const servers = ['a', 'a', 'a', 'b']
    const map = parseShardMap(variant((d) => (d.databases = { count: 4, name: 'shard<dd>_<name>', servers })))
    expect(map.databases.map((d) => `${d.name}@${d.server.name}`)).toEqual([
      'shard00_app@a',
      'shard01_app@a',
      'shard02_app@a',
      'shard03_app@b',
    ])
  })

  const invalid: Array<[string, (doc: any) => void]> = [
    ['extra', (d) => Object.assign(d, { extra: 1 })],
    ['version', (d) => (d.version = 0)],
    ['version', (d) => (d.version = 1.5)],
    ['name', (d) => (d.name = 'App')],
    ['servers', (d) => (d.servers = {})],
    ['servers.a.primary', (d) => (d.servers.a.primary = 'http://x')],
    ['servers.a.primary', (d) => (d.servers.a.primary = 'postgres://app@h:5432/app')],
    ['servers.b.replicas[1]', (d) => (d.servers.b.replicas = ['postgres://r1', 'nope'])],
    ['servers.b.port', (d) => (d.servers.b.port = 5432)],
    ['databases.count', (d) => (d.databases = { count: 0 })],
    ['databases.name', (d) => (d.databases = { name: 'app' })],
    ['databases.name', (d) => (d.databases = { name: 'App-<dd>' })],
    ['databases.servers', (d) => (d.databases = { count: 2, servers: ['a'] })],
    ['databases.servers[1]', (d) => (d.databases = { count: 2, servers: ['a', 'c'] })],
    ['tables', (d) => (d.tables = {})],
    ['tables.Users', (d) => (d.tables.Users = { type: 'broadcast' })],
    ['tables.table', (d) => (d.tables.table = { type: 'broadcast' })],
    ['tables.hf_x', (d) => (d.tables.hf_x = { type: 'broadcast' })],
    ['tables.users_01', (d) => (d.tables.users_01 = { type: 'broadcast' })],
    ['tables.users.type', (d) => (d.tables.users.type = 'modulo')],
    ['tables.users.key', (d) => delete d.tables.users.key],
    ['tables.users.tables', (d) => (d.tables.users.tables = 0)],
    ['tables.users.tabels', (d) => (d.tables.users.tabels = 8)],
    ['tables.posts.tables', (d) => (d.tables.posts.tables = 32)],
    ['tables.timeline.interval', (d) => (d.tables.timeline.interval = 'hour')],
    ['tables.timeline.ahead', (d) => (d.tables.timeline.ahead = -1)],
    ['tables.timeline.from', (d) => (d.tables.timeline.from = 'soon')],
    ['tables.timeline.rangeColumn', (d) => delete d.tables.timeline.rangeColumn],
    ['tables.audit.tables', (d) => (d.tables.audit.tables = 4)],
    ['tables.usernames.target', (d) => (d.tables.usernames.target = 'countries')],
    ['tables.usernames.value', (d) => (d.tables.usernames.value = 'username')],
  ]
  it.each(invalid)('rejects a bad field with E_INVALID_MAP at path %j', (path, edit) => {
    const error = thrown(() => parseShardMap(variant(edit)))
    expect(error.code).toBe('E_INVALID_MAP')
    expect(error.path).toBe(path)
    expect(error.message.length).toBeGreaterThan(10)
  })

  it('rejects text that is not JSON, and a document that is not an object, at the root', () => {
    for (const input of ['{"version":', '[]', 42, null]) {
      const error = thrown(() => parseShardMap(input))
      expect([error.code, error.path]).toEqual(['E_INVALID_MAP', ''])
    }
  })

  it('refuses resolution without a usable key, naming the table', () => {
    const map = parseShardMap(base)
    for (const key of [undefined, null, 1.5, {}, Number.NaN]) {
      const error = thrown(() => map.resolve('users', key))
      expect(error.code).toBe('E_NO_SHARD_KEY')
    }
    expect(thrown(() => map.resolve('timeline', 1, 'not a date')).code).toBe('E_NO_SHARD_KEY')
    expect(thrown(() => map.resolve('nope', 1)).code).toBe('E_UNKNOWN_TABLE')
    expect(thrown(() => map.resolve('countries', 1)).code).toBe('E_UNKNOWN_TABLE')
  })
})

describe('createShardRouter', () => {
  it('validates its options eagerly, naming the bad one, and opens nothing', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ scatter: 'sometimes' }, 'options.scatter'],
      [{ connect: 'pg' }, 'options.connect'],
      [{ horizonAlarm: -1 }, 'options.horizonAlarm'],
      [{ maxCachedStatements: 0 }, 'options.maxCachedStatements'],
      [{ metrics: {} }, 'options.metrics'],
      [{ name: '' }, 'options.name'],
      [{ pool: 'big' }, 'options.pool'],
    ]
    for (const [options, option] of bad) {
      const error = thrown(() => createShardRouter({ map: base, ...options } as any))
      expect([error.code, error.option]).toEqual(['E_INVALID_OPTION', option])
    }
    expect(thrown(() => createShardRouter({} as any)).option).toBe('options.map')
    expect(thrown(() => createShardRouter({ map: { ...base, version: 0 } })).code).toBe('E_INVALID_MAP')
    const router = createShardRouter({ map: base })
    expect(router.shard('users', 1).database).toBe(router.map.resolve('users', 1).database)
    await router.end()
  })
})
