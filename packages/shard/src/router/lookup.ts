import type { CallOptions } from '@hundredfold/pg'
import { ShardError } from '../errors.js'
import { type ShardKey, shardKeyText } from '../map/shard-hash.js'
import type { LookupRule } from '../map/table-rule.js'
import type { Relocate, ShardRuntime } from './shard-runtime.js'

// Lookup tables are hash tables on their `key` column with a `value` column holding the target's shard
// key. The lookup row and the target's row live on different shards, so no transaction holds both:
// link first (a reservation: a dangling link points at nothing and is harmless), then write the row;
// unlink after deleting the row.

/** The target's shard key for a looked-up value, or `undefined`. @internal */
export async function lookupKey(
  runtime: ShardRuntime,
  table: string,
  value: ShardKey,
  options?: CallOptions,
): Promise<ShardKey | undefined> {
  const rule = lookupRule(runtime, table)
  const location = runtime.locate(table, value, undefined)
  const { rows } = await runtime.run<{ v: ShardKey }>(
    location,
    'read',
    `SELECT ${rule.value} AS v FROM {table} WHERE ${rule.key} = $1`,
    [shardKeyText(value)],
    options,
  )
  return rows[0]?.v
}

/**
 * Maps `value` to `key` unless it is already mapped elsewhere: `true` when it now maps to `key`
 * (inserted, or already so), `false` when another key holds it (a taken username). @internal
 */
export async function linkKey(
  runtime: ShardRuntime,
  table: string,
  value: ShardKey,
  key: ShardKey,
  options?: CallOptions,
): Promise<boolean> {
  const rule = lookupRule(runtime, table)
  const location = runtime.locate(table, value, undefined)
  const keyText = shardKeyText(key)
  // Held by a switch (or run after one): the value's home in the router's map by then.
  const relocate: Relocate = (next) => next.locate(table, value, undefined)
  const params = [shardKeyText(value), keyText]
  // The CTE's SELECT does not see the row its INSERT adds: one of the two answers, never both.
  const { rows } = await runtime.run<{ v: string }>(
    location,
    'query',
    `WITH added AS (
       INSERT INTO {table} (${rule.key}, ${rule.value}) VALUES ($1, $2) ON CONFLICT (${rule.key}) DO NOTHING
       RETURNING ${rule.value}::text AS v)
     SELECT v FROM added UNION ALL SELECT ${rule.value}::text FROM {table} WHERE ${rule.key} = $1 LIMIT 1`,
    params,
    options,
    relocate,
  )
  let holder = rows[0]?.v
  if (holder === undefined) {
    // A concurrent link committed after this statement's snapshot was taken: ask again.
    const again = await runtime.run<{ v: string }>(
      location,
      'query',
      `SELECT ${rule.value}::text AS v FROM {table} WHERE ${rule.key} = $1`,
      [params[0]],
      options,
      relocate,
    )
    holder = again.rows[0]?.v
  }
  return holder === keyText
}

/** Removes the mapping of `value` (only if it maps to `key`, when given); whether a row went. @internal */
export async function unlinkKey(
  runtime: ShardRuntime,
  table: string,
  value: ShardKey,
  key: ShardKey | undefined,
  options?: CallOptions,
): Promise<boolean> {
  const rule = lookupRule(runtime, table)
  const location = runtime.locate(table, value, undefined)
  const { rowCount } = await runtime.run(
    location,
    'query',
    key === undefined
      ? `DELETE FROM {table} WHERE ${rule.key} = $1`
      : `DELETE FROM {table} WHERE ${rule.key} = $1 AND ${rule.value}::text = $2`,
    key === undefined ? [shardKeyText(value)] : [shardKeyText(value), shardKeyText(key)],
    options,
    (next) => next.locate(table, value, undefined),
  )
  return rowCount > 0
}

/** The rule of a lookup table. @internal */
export function lookupRule(runtime: ShardRuntime, table: string): LookupRule {
  const rule = runtime.map.rule(table)
  if (rule.type !== 'lookup') {
    throw new ShardError('E_UNKNOWN_TABLE', `${table} is a ${rule.type} table, not a lookup table`, { table })
  }
  return rule
}
