import { describe, expect, it } from 'vitest'
import { parseShardMap } from '../src/index.js'
import { parseSqlTemplate } from '../src/router/sql-template.js'
import { StatementCache } from '../src/router/statement-cache.js'
import { thrown } from './support/caught.js'

const map = parseShardMap({
  version: 1,
  name: 'app',
  servers: { a: { primary: 'postgres://app@10.0.0.1' } },
  tables: {
    users: { type: 'hash', key: 'user_id', binding: 'user' },
    posts: { type: 'hash', key: 'author_id', binding: 'user' },
    likes: { type: 'hash', key: 'post_id' },
    timeline: { type: 'range', key: 'user_id', rangeColumn: 'at', interval: 'month', binding: 'user' },
    countries: { type: 'broadcast' },
  },
})

describe('{name} tokens', () => {
  it('are found in SQL text only: never in literals, quoted identifiers or comments', () => {
    const sql = [
      "SELECT '{posts}', E'it\\'s {posts}', $$ {posts} $$, $tag$ {posts} $tag$, \"{posts}\"",
      '-- {posts}\n/* {posts} /* nested {posts} */ still {posts} */',
      "FROM {posts} WHERE tags @> '{a,b}' AND price$x = $1 AND {users}.id = 1",
    ].join('\n')
    const { names, parts } = parseSqlTemplate(sql)
    expect(names).toEqual(['posts', 'users'])
    expect(parts.join('')).not.toContain('FROM {posts}')
    expect(parts[0]).toContain("'{posts}'")
  })

  it('leave braces that are not a lowercase identifier alone', () => {
    expect(parseSqlTemplate('SELECT {Posts}, { posts }, {1}, {').names).toEqual([])
  })

  it('become physical names of the statement’s scope: its table, bound tables, broadcast tables', () => {
    const cache = new StatementCache(100)
    const user = map.resolve('users', 42n)
    const suffix = user.physicalTable.slice('users'.length)
    const sql =
      'SELECT * FROM {users} JOIN {posts} USING (user_id) JOIN {countries} c ON true WHERE {table}.x = $1'
    expect(cache.rewrite(sql, user.scope)).toBe(
      `SELECT * FROM users${suffix} JOIN posts${suffix} USING (user_id) JOIN countries c ON true WHERE users${suffix}.x = $1`,
    )
    // cached: the very same string comes back
    expect(cache.rewrite(sql, user.scope)).toBe(cache.rewrite(sql, user.scope))
    expect(cache.rewrite('SELECT 1', user.scope)).toBe('SELECT 1')
  })

  it('refuse tables placed by another key, unknown tables, and range tables without their time', () => {
    const cache = new StatementCache(100)
    const scope = map.resolve('users', 1).scope
    const cross = thrown(() => cache.rewrite('SELECT * FROM {likes}', scope))
    expect(cross).toMatchObject({ code: 'E_CROSS_SHARD', requested: 'likes' })
    expect(thrown(() => cache.rewrite('SELECT * FROM {nope}', scope)).code).toBe('E_UNKNOWN_TABLE')
    expect(thrown(() => cache.rewrite('SELECT * FROM {timeline}', scope)).code).toBe('E_NO_SHARD_KEY')
  })

  it('start over past the cache bound instead of growing', () => {
    const cache = new StatementCache(10)
    const scope = map.resolve('users', 1).scope
    for (let i = 0; i < 1000; i++) cache.rewrite(`SELECT ${i} FROM {users}`, scope)
    expect(cache.rewrite('SELECT 999 FROM {users}', scope)).toBe(
      `SELECT 999 FROM ${map.resolve('users', 1).physicalTable}`,
    )
  })
})
