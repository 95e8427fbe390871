import { FENCE_TABLE, fenceTableSql } from './fence.js'
import { ident, withAdmin } from './pg-admin.js'
import {
  databaseExists,
  deleteBatched,
  dropPublication,
  dropSlot,
  dropSubscription,
  ensurePublication,
  ensureSlot,
  ensureSubscription,
  requireReplicaIdentity,
  SUBSCRIPTION_HERE,
} from './replication.js'
import type { ReshardPair, ReshardPlan } from './reshard-plan.js'
import { classifyTables, type ReshardTable, replicationNames } from './reshard-sql.js'
import { copySchema } from './schema-copy.js'

// What each step of a resharding does to one pair (a source database and its new database). Every
// function is safe to run again: a step resumed after a crash finds part of its work done.

/** Where one pair stands while its new database copies and follows the source. */
export interface PairStatus {
  readonly source: string
  readonly target: string
  /** Tables whose initial copy is done (`pg_subscription_rel` state `r`), of all. */
  readonly tablesReady: number
  readonly tables: number
  /** WAL the new database has not confirmed yet, in bytes (null when replication is not running). */
  readonly lagBytes: number | null
}

/** The physical tables of the source database, classified by their logical table's rule. */
export async function pairTables(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<ReshardTable[]> {
  const rows = await withAdmin(
    pair.source.url,
    (sql) =>
      sql<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
    signal,
  )
  return classifyTables(
    plan,
    pair,
    rows.map((r) => r.name),
  )
}

/** The new database, its schema, the publication and slot on the source, the subscription (copying). */
export async function startPair(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = replicationNames(plan, pair)
  await withAdmin(
    pair.target.serverUrl,
    async (sql) => {
      if (!(await databaseExists(sql, pair.target.name)))
        await sql(`CREATE DATABASE ${ident(pair.target.name)}`)
    },
    signal,
  )
  await withAdmin(pair.source.url, (sql) => sql(fenceTableSql), signal)
  const published = (await pairTables(plan, pair, signal)).filter((t) => t.kind !== 'stay')
  await withAdmin(
    pair.source.url,
    async (sql) => {
      await requireReplicaIdentity(sql, published, pair)
      await ensurePublication(
        sql,
        names.forward,
        published.map((t) => t.name),
      )
      await ensureSlot(sql, names.forward)
    },
    signal,
  )
  await withAdmin(
    pair.target.url,
    async (sql) => {
      if ((await sql(SUBSCRIPTION_HERE, [names.forward])).length > 0) return
      const present = await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
      )
      if (present[0]!.n === 0) await copySchema(pair.source.url, pair.target.url, signal)
      await ensureSubscription(sql, names.forward, pair.source.url, { copyData: true })
    },
    signal,
  )
}

/** Tables copied and the forward slot's lag. */
export async function pairStatus(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<PairStatus> {
  const names = replicationNames(plan, pair)
  const states = await withAdmin(
    pair.target.url,
    (sql) =>
      sql<{ ready: number; total: number }>(
        `SELECT count(*) FILTER (WHERE r.srsubstate = 'r')::int AS ready, count(*)::int AS total
         FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
         WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [names.forward],
      ),
    signal,
  )
  const lag = await withAdmin(
    pair.source.url,
    (sql) =>
      sql<{ lag: string | null }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1',
        [names.forward],
      ),
    signal,
  )
  const bytes = lag[0]?.lag
  return {
    source: pair.source.name,
    target: pair.target.name,
    tablesReady: states[0]!.ready,
    tables: states[0]!.total,
    lagBytes: bytes == null ? null : Number(bytes),
  }
}

/**
 * At cutover, writes held and the new database fenced: replaces the forward replication by a reverse
 * one (the new database publishes what moved, the source follows).
 */
export async function reverseReplication(
  plan: ReshardPlan,
  pair: ReshardPair,
  sourceTables: readonly ReshardTable[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = replicationNames(plan, pair)
  // The fence travels back too, so `reverse` can prove the sources have caught up.
  const tables = sourceTables.filter((t) => t.kind === 'split' || t.name === FENCE_TABLE)
  await withAdmin(
    pair.target.url,
    async (sql) => {
      // The forward apply worker must be gone before the source publishes to it in reverse, or a change
      // would travel back and forth (PostgreSQL 15 has no `origin = none`).
      await dropSubscription(sql, names.forward)
      await ensurePublication(
        sql,
        names.reverse,
        tables.map((t) => t.name),
      )
      await ensureSlot(sql, names.reverse)
    },
    signal,
  )
  await withAdmin(
    pair.source.url,
    async (sql) => {
      await dropSlot(sql, names.forward)
      await ensureSubscription(sql, names.reverse, pair.target.url, { copyData: false })
    },
    signal,
  )
}

/**
 * At reverse, writes held and the source fenced: ends the reverse replication and has the new database
 * follow the source again — through a new slot made now, after the reverse apply worker is gone (so
 * nothing it applied travels back). The subscription is made disabled: `refollowPair` starts it once
 * the new database has dropped the rows it kept as they were at cutover.
 */
export async function followAgain(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = replicationNames(plan, pair)
  await withAdmin(
    pair.source.url,
    async (sql) => {
      await dropSubscription(sql, names.reverse)
      await ensureSlot(sql, names.forward)
    },
    signal,
  )
  await withAdmin(
    pair.target.url,
    async (sql) => {
      await dropSlot(sql, names.reverse)
      await dropPublication(sql, names.reverse)
      await ensureSubscription(sql, names.forward, pair.source.url, { copyData: false, enabled: false })
    },
    signal,
  )
}

/**
 * After a reverse: the new database's copies of the rows its source kept stopped following at cutover
 * (stale; a row deleted and inserted again meanwhile would stop the replication on a duplicate key), so
 * they are deleted before the forward subscription starts again. The rows that move are exact: the
 * source followed them until the reverse.
 */
export async function refollowPair(
  plan: ReshardPlan,
  pair: ReshardPair,
  batch: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const names = replicationNames(plan, pair)
  const tables = await pairTables(plan, pair, signal)
  let deleted = 0
  await withAdmin(
    pair.target.url,
    async (sql) => {
      await sql('SET session_replication_role = replica')
      for (const t of tables)
        if (t.kind === 'split') deleted += await deleteBatched(sql, t.name, t.kept!, batch, signal)
      await sql(`ALTER SUBSCRIPTION ${ident(names.forward)} ENABLE`)
    },
    signal,
  )
  return deleted
}

/** Ends the reverse replication: its subscription on the source, slot and publication on the new database. */
export async function dropReverse(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = replicationNames(plan, pair)
  await withAdmin(pair.source.url, (sql) => dropSubscription(sql, names.reverse), signal)
  await withAdmin(
    pair.target.url,
    async (sql) => {
      await dropSlot(sql, names.reverse)
      await dropPublication(sql, names.reverse)
    },
    signal,
  )
}

/** Deletes, on each side, the rows the other side owns (their foreign-key triggers skipped). */
export async function completePair(
  plan: ReshardPlan,
  pair: ReshardPair,
  batch: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  await dropReverse(plan, pair, signal)
  const tables = await pairTables(plan, pair, signal)
  let deleted = 0
  // A binding group's rows leave together (they share the key's hash), so the foreign keys between
  // them would only dictate the order of the deletes: skip their triggers, as replication does.
  await withAdmin(
    pair.source.url,
    async (sql) => {
      await sql('SET session_replication_role = replica')
      await dropPublication(sql, replicationNames(plan, pair).forward)
      for (const t of tables)
        if (t.kind === 'split') deleted += await deleteBatched(sql, t.name, t.moved!, batch, signal)
    },
    signal,
  )
  await withAdmin(
    pair.target.url,
    async (sql) => {
      await sql('SET session_replication_role = replica')
      for (const t of tables) {
        if (t.kind === 'split') deleted += await deleteBatched(sql, t.name, t.kept!, batch, signal)
        else if (t.kind === 'stay') await sql(`TRUNCATE ${ident(t.name)}`)
      }
    },
    signal,
  )
  return deleted
}

/** Drops the new database and the forward replication. */
export async function abortPair(
  plan: ReshardPlan,
  pair: ReshardPair,
  signal: AbortSignal | undefined,
): Promise<void> {
  const names = replicationNames(plan, pair)
  await withAdmin(
    pair.target.serverUrl,
    async (sql) => {
      if (!(await databaseExists(sql, pair.target.name))) return
      await withAdmin(pair.target.url, (target) => dropSubscription(target, names.forward), signal)
      await sql(`DROP DATABASE ${ident(pair.target.name)} WITH (FORCE)`)
    },
    signal,
  )
  await withAdmin(
    pair.source.url,
    async (sql) => {
      await dropSlot(sql, names.forward)
      await dropPublication(sql, names.forward)
    },
    signal,
  )
}
