import { setTimeout as delay } from 'node:timers/promises'
import { abortedError, ShardError } from '../errors.js'
import { type AdminSql, ident, literal } from './pg-admin.js'
import type { ReshardPair } from './reshard-plan.js'
import type { ReshardTable } from './reshard-sql.js'

// The logical-replication steps of a resharding, each safe to run again (a step resumed after a crash
// finds part of its work done).

export async function untilApplying(
  sql: AdminSql,
  subscription: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    const rows = await sql<{ pid: number | null }>(
      `SELECT s.pid FROM pg_stat_subscription s JOIN pg_subscription p ON p.oid = s.subid
       WHERE p.subname = $1 AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.relid IS NULL`,
      [subscription],
    )
    if (rows[0]?.pid) return
    await pause(50, signal)
  }
}

export async function databaseExists(sql: AdminSql, name: string): Promise<boolean> {
  return (await sql('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length > 0
}

/** pg_subscription is shared by the server's databases: look in this one's. */
export const SUBSCRIPTION_HERE =
  'SELECT 1 FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())'

export async function requireReplicaIdentity(
  sql: AdminSql,
  tables: readonly ReshardTable[],
  pair: ReshardPair,
): Promise<void> {
  const rows = await sql<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = ANY($1) AND c.relreplident = 'd'
       AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)`,
    [tables.map((t) => t.name)],
  )
  if (rows.length > 0) {
    // Published without one, the source would refuse every UPDATE and DELETE on them.
    throw new ShardError(
      'E_RESHARD_STATE',
      `${pair.source.name}: ${rows.map((r) => r.name).join(', ')} have no primary key (logical replication needs one)`,
      { database: pair.source.name },
    )
  }
}

export async function dropSubscription(sql: AdminSql, name: string): Promise<void> {
  const found = await sql(SUBSCRIPTION_HERE, [name])
  if (found.length === 0) return
  // Detach the slot first: it lives on the publisher and is dropped there (or is gone already).
  await sql(`ALTER SUBSCRIPTION ${ident(name)} DISABLE`)
  await sql(`ALTER SUBSCRIPTION ${ident(name)} SET (slot_name = NONE)`)
  await sql(`DROP SUBSCRIPTION ${ident(name)}`)
}

export async function dropSlot(sql: AdminSql, name: string): Promise<void> {
  // A slot stays active for a moment after its subscriber stopped: retry until it is free.
  for (let attempt = 0; ; attempt++) {
    const rows = await sql<{ active: boolean }>(
      'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
      [name],
    )
    if (rows.length === 0) return
    if (!rows[0]!.active) {
      await sql('SELECT pg_drop_replication_slot($1)', [name])
      return
    }
    if (attempt >= 200) throw new ShardError('E_RESHARD_STATE', `replication slot ${name} stays active`, {})
    await delay(25)
  }
}

export async function dropPublication(sql: AdminSql, name: string): Promise<void> {
  await sql(`DROP PUBLICATION IF EXISTS ${ident(name)}`)
}

export async function deleteBatched(
  sql: AdminSql,
  table: string,
  where: string,
  batch: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  let total = 0
  for (;;) {
    if (signal?.aborted) throw abortedError(signal)
    const rows = await sql<{ n: number }>(
      `WITH gone AS (DELETE FROM ${ident(table)} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${ident(table)} WHERE ${where} LIMIT ${batch})) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
    )
    total += rows[0]!.n
    if (rows[0]!.n < batch) return total
  }
}

export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => {
    throw abortedError(signal!)
  })
}

/** Creates a publication of `tables` unless there is one of that name. */
export async function ensurePublication(
  sql: AdminSql,
  name: string,
  tables: readonly string[],
): Promise<void> {
  const exists = await sql('SELECT 1 FROM pg_publication WHERE pubname = $1', [name])
  if (exists.length === 0) {
    await sql(`CREATE PUBLICATION ${ident(name)} FOR TABLE ${tables.map(ident).join(', ')}`)
  }
}

/**
 * Creates a logical slot unless there is one: made apart from CREATE SUBSCRIPTION, which on one server
 * would wait for itself.
 */
export async function ensureSlot(sql: AdminSql, name: string): Promise<void> {
  const slot = await sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name])
  if (slot.length === 0) await sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name])
}

/** Subscribes this database to a publication through an existing slot, unless it is subscribed. */
export async function ensureSubscription(
  sql: AdminSql,
  name: string,
  publisherUrl: string,
  options: { copyData: boolean; enabled?: boolean },
): Promise<void> {
  if ((await sql(SUBSCRIPTION_HERE, [name])).length > 0) return
  await sql(
    `CREATE SUBSCRIPTION ${ident(name)} CONNECTION ${literal(publisherUrl)} PUBLICATION ${ident(name)} ` +
      `WITH (create_slot = false, slot_name = ${literal(name)}, copy_data = ${options.copyData}, enabled = ${options.enabled ?? true})`,
  )
}
