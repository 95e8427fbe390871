import type { ShardMap } from '@hundredfold/shard'
import type { Table } from './store.js'

/**
 * What the microblog needs of a shard map: each table hashed on its own key, a user's rows (profile,
 * counters, posts, mentions, both sides of their edges) in one binding group, and the two lookups
 * pointing at `users`. `expected` is the rule each table must have.
 */
const expected: Record<Table, { type: 'hash' | 'lookup'; key: string; user?: true }> = {
  users: { type: 'hash', key: 'user_id', user: true },
  user_counters: { type: 'hash', key: 'user_id', user: true },
  posts: { type: 'hash', key: 'author_id', user: true },
  mentions: { type: 'hash', key: 'user_id', user: true },
  following: { type: 'hash', key: 'follower_id', user: true },
  followers: { type: 'hash', key: 'followee_id', user: true },
  usernames: { type: 'lookup', key: 'username' },
  user_external_ids: { type: 'lookup', key: 'external_id' },
  post_locations: { type: 'hash', key: 'post_id' },
  app_secrets: { type: 'hash', key: 'name' },
}

/**
 * The problems of a map as the microblog's layout (empty when it fits): a missing table, another rule
 * or key, a user table outside the users' binding group, a lookup that does not map to `users.user_id`.
 */
export function layoutProblems(map: ShardMap): string[] {
  const problems: string[] = []
  const known = new Set(map.tableNames)
  let group: string | undefined
  for (const [table, want] of Object.entries(expected)) {
    if (!known.has(table)) {
      problems.push(`tables.${table} is missing (a ${want.type} table on ${want.key})`)
      continue
    }
    const rule = map.rule(table)
    if (rule.type !== want.type || rule.key !== want.key) {
      problems.push(`tables.${table} must be a ${want.type} table on ${want.key}`)
      continue
    }
    if (rule.type === 'lookup' && (rule.target !== 'users' || rule.value !== 'user_id')) {
      problems.push(
        `tables.${table} must map ${want.key} to users' user_id ("value": "user_id", "target": "users")`,
      )
    }
    if (want.user && rule.type === 'hash') {
      if (rule.binding === undefined) problems.push(`tables.${table} must be in the users' binding group`)
      else if (group === undefined) group = rule.binding
      else if (rule.binding !== group) problems.push(`tables.${table} must be in binding group "${group}"`)
    }
  }
  return problems
}
