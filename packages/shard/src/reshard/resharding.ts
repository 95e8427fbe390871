import { setTimeout as delay } from 'node:timers/promises'
import { abortedError, ShardError } from '../errors.js'
import { parseShardMap, type ShardMap } from '../map/shard-map.js'
import type { ShardRouter } from '../router/shard-router.js'
import { FENCE_TABLE, fence, fenceTableSql } from './fence.js'
import { type AdminSql, ident, literal, withAdmin } from './pg-admin.js'
import type { ReshardPair, ReshardPlan } from './reshard-plan.js'
import { classifyTables, type ReshardTable, replicationNames } from './reshard-sql.js'
import { type ReshardRecord, type ReshardState, ReshardStore } from './reshard-store.js'
import { copySchema } from './schema-copy.js'
import { type VerifyReport, verifyPairs } from './verify.js'

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

export interface ReshardStatus {
  readonly id: string
  readonly state: ReshardState
  readonly pairs: readonly PairStatus[]
  /** Every table copied and the lag under `maxLagBytes` of `waitCaughtUp`'s default. */
  readonly caughtUp: boolean
}

/** What a cutover or a reverse measured. */
export interface SwitchReport {
  /** From holding the writes to releasing them, in ms: what a buffered write waited at most. */
  readonly pauseMs: number
  /** Writes that were waiting when they were released. */
  readonly bufferedWrites: number
  readonly version: number
}

/** Options shared by the steps. */
export interface StepOptions {
  signal?: AbortSignal
}

const CAUGHT_UP_BYTES = 1024 * 1024

/**
 * An online doubling of a shard map's databases, step by step (each step is safe to run again after a
 * failure, and its progress is recorded in `hf_reshard` in the first database):
 *
 * 1. `start`: creates each new database, copies the schema (`pg_dump --schema-only`), publishes every
 *    table of the source (`hf_rs_<id>_<dd>`) and subscribes the new database to it: PostgreSQL's logical
 *    replication copies the tables, then streams every change. The whole database is copied — the
 *    seed's "double the instances, switch, delete the redundant half".
 * 2. `status` / `waitCaughtUp`: initial copies done and the replication lag.
 * 3. `verify`: count and checksum per chunk of the rows that move, source against new database.
 * 4. `cutover({ routers })`: holds the routers' writes to the source databases (buffered, not failed),
 *    waits until each new database has confirmed the source's last WAL position, replaces the forward
 *    replication by a reverse one (the new database publishes, the source follows — so `reverse` can go
 *    back without losing a write), switches the routers to the doubled map and releases the writes.
 * 5. `complete`: ends the reverse replication and deletes the redundant half on both sides.
 *    Or `reverse`: holds writes again, waits for the sources to catch up, switches back.
 *
 * @example
 * const resharding = await Resharding.create(planDoubling(map), { signal })
 * await resharding.start({ signal })
 * await resharding.waitCaughtUp({ signal })
 * if ((await resharding.verify({ signal })).ok) await resharding.cutover({ routers: [router], signal })
 * await resharding.complete({ signal })
 */
export class Resharding {
  readonly plan: ReshardPlan
  readonly #store: ReshardStore
  #record: ReshardRecord

  private constructor(store: ReshardStore, record: ReshardRecord) {
    this.#store = store
    this.#record = record
    this.plan = record.plan
  }

  /** Records a new resharding in the first database of its source map (state `planned`). */
  static async create(plan: ReshardPlan, options: StepOptions = {}): Promise<Resharding> {
    const store = new ReshardStore(plan.pairs[0]!.source.url)
    const record = await store.insert(plan, options.signal)
    return new Resharding(store, record)
  }

  /** A recorded resharding, by id, from the first database of its source map. */
  static async load(controlUrl: string, id: string, options: StepOptions = {}): Promise<Resharding> {
    const store = new ReshardStore(controlUrl)
    return new Resharding(store, await store.get(id, options.signal))
  }

  get state(): ReshardState {
    return this.#record.state
  }

  /** The map before (`from`) and after (`to`). */
  maps(): { from: ShardMap; to: ShardMap } {
    return { from: parseShardMap(this.plan.from), to: parseShardMap(this.plan.to) }
  }

  async start(options: StepOptions = {}): Promise<void> {
    this.#expect(['planned', 'copying'], 'start')
    const { signal } = options
    for (const pair of this.plan.pairs) {
      const names = replicationNames(this.plan, pair)
      await withAdmin(
        pair.target.serverUrl,
        async (sql) => {
          if (!(await databaseExists(sql, pair.target.name)))
            await sql(`CREATE DATABASE ${ident(pair.target.name)}`)
        },
        signal,
      )
      await withAdmin(pair.source.url, (sql) => sql(fenceTableSql), signal)
      const tables = await this.#tables(pair, signal)
      const published = tables.filter((t) => t.kind !== 'stay')
      await withAdmin(
        pair.source.url,
        async (sql) => {
          await requireReplicaIdentity(sql, published, pair)
          const exists = await sql('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.forward])
          if (exists.length === 0) {
            await sql(
              `CREATE PUBLICATION ${ident(names.forward)} FOR TABLE ${published.map((t) => ident(t.name)).join(', ')}`,
            )
          }
          const slot = await sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.forward])
          // Made here rather than by CREATE SUBSCRIPTION: on one server the two would wait for each other.
          if (slot.length === 0)
            await sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.forward])
        },
        signal,
      )
      await withAdmin(
        pair.target.url,
        async (sql) => {
          const subscribed = await sql(SUBSCRIPTION_HERE, [names.forward])
          if (subscribed.length > 0) return
          const present = await sql<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
          )
          if (present[0]!.n === 0) await copySchema(pair.source.url, pair.target.url, signal)
          await sql(
            `CREATE SUBSCRIPTION ${ident(names.forward)} CONNECTION ${literal(pair.source.url)} PUBLICATION ${ident(names.forward)} ` +
              `WITH (create_slot = false, slot_name = ${literal(names.forward)}, copy_data = true)`,
          )
        },
        signal,
      )
    }
    await this.#set('copying', signal)
  }

  async status(options: StepOptions = {}): Promise<ReshardStatus> {
    const { signal } = options
    const pairs: PairStatus[] = []
    for (const pair of this.plan.pairs) pairs.push(await this.#pairStatus(pair, signal))
    const caughtUp = pairs.every(
      (p) => p.tablesReady === p.tables && p.lagBytes !== null && p.lagBytes <= CAUGHT_UP_BYTES,
    )
    return { id: this.plan.id, state: this.#record.state, pairs, caughtUp }
  }

  /** Waits until every table is copied and each new database is within `maxLagBytes` of its source. */
  async waitCaughtUp(
    options: StepOptions & { maxLagBytes?: number; pollMs?: number } = {},
  ): Promise<ReshardStatus> {
    this.#expect(['copying'], 'waitCaughtUp')
    const maxLag = options.maxLagBytes ?? CAUGHT_UP_BYTES
    for (;;) {
      const status = await this.status(options)
      if (
        status.pairs.every((p) => p.tablesReady === p.tables && p.lagBytes !== null && p.lagBytes <= maxLag)
      )
        return status
      await pause(options.pollMs ?? 200, options.signal)
    }
  }

  /** Counts and checksums the rows that move, per physical table, on both sides, with writes going on (see `verifyPairs`). */
  async verify(options: StepOptions & { lockTimeoutMs?: number } = {}): Promise<VerifyReport> {
    this.#expect(['copying'], 'verify')
    const pairs = []
    for (const pair of this.plan.pairs) pairs.push({ pair, tables: await this.#tables(pair, options.signal) })
    const report = await verifyPairs(pairs, {
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      fenced: (pair, signal) => fence(pair.source.url, pair.target.url, `fwd_${this.plan.id}`, signal),
      signal: options.signal,
    })
    await this.#store.note(
      this.plan.id,
      { verify: { ok: report.ok, chunks: report.chunks, mismatches: report.mismatches.length } },
      options.signal,
    )
    return report
  }

  /**
   * Switches the routers to the doubled map with their writes to the source databases held (buffered)
   * meanwhile. Fails without switching (and releases the writes) when a new database does not confirm
   * the source's position within `maxCatchUpMs`.
   */
  async cutover(
    options: StepOptions & { routers: readonly ShardRouter[]; maxCatchUpMs?: number },
  ): Promise<SwitchReport> {
    this.#expect(['copying'], 'cutover')
    const { signal } = options
    const { to } = this.maps()
    const status = await this.status(options)
    if (!status.caughtUp) {
      throw new ShardError('E_RESHARD_STATE', 'the new databases have not caught up: waitCaughtUp() first', {
        state: this.state,
      })
    }
    // Read the catalogs before holding anything: the pause is for the replication steps only.
    const reversed = await Promise.all(this.plan.pairs.map((pair) => this.#tables(pair, signal)))
    const holds = await Promise.all(
      options.routers.map((router) =>
        router.hold(
          this.plan.pairs.map((p) => p.source.index),
          { signal },
        ),
      ),
    )
    const started = performance.now()
    let switched = false
    try {
      const deadline = AbortSignal.any([
        ...(signal ? [signal] : []),
        AbortSignal.timeout(options.maxCatchUpMs ?? 800),
      ])
      // Every write committed on a source before the hold is in its new database once the fence is.
      await Promise.all(
        this.plan.pairs.map((pair) =>
          fence(pair.source.url, pair.target.url, `fwd_${this.plan.id}`, deadline),
        ),
      )
      await Promise.all(
        this.plan.pairs.map((pair, i) => this.#reverseReplication(pair, reversed[i]!, signal)),
      )
      for (const router of options.routers) router.useMap(to)
      switched = true
      await this.#set('cut-over', signal)
    } finally {
      for (const hold of holds) hold.release()
    }
    const pauseMs = performance.now() - started
    const bufferedWrites = holds.reduce((n, h) => n + h.buffered, 0)
    if (!switched) throw new ShardError('E_RESHARD_STATE', 'cutover did not switch', { state: this.state })
    // Cut over means the sources follow the new databases: wait for each reverse apply worker to run (the
    // launcher starts workers at most every wal_retrieve_retry_interval, 5 s by default).
    await Promise.all(
      this.plan.pairs.map((pair) =>
        withAdmin(
          pair.source.url,
          (sql) => untilApplying(sql, replicationNames(this.plan, pair).reverse, signal),
          signal,
        ),
      ),
    )
    await this.#store.note(this.plan.id, { cutover: { pauseMs, bufferedWrites } }, signal)
    return { pauseMs, bufferedWrites, version: to.version }
  }

  /**
   * After a cutover: holds writes, waits for the sources to have every write the new databases took, and
   * switches back to the old layout, as version `to.version + 1` (a router only moves forward).
   */
  async reverse(
    options: StepOptions & { routers: readonly ShardRouter[]; maxCatchUpMs?: number },
  ): Promise<SwitchReport> {
    this.#expect(['cut-over'], 'reverse')
    const { signal } = options
    const from = parseShardMap({ ...this.plan.from, version: this.plan.to.version + 1 })
    const all = this.plan.pairs.flatMap((p) => [p.source.index, p.target.index])
    const holds = await Promise.all(options.routers.map((router) => router.hold(all, { signal })))
    const started = performance.now()
    try {
      const deadline = AbortSignal.any([
        ...(signal ? [signal] : []),
        AbortSignal.timeout(options.maxCatchUpMs ?? 800),
      ])
      await Promise.all(
        this.plan.pairs.map((pair) =>
          fence(pair.target.url, pair.source.url, `rev_${this.plan.id}`, deadline),
        ),
      )
      for (const router of options.routers) router.useMap(from)
      await this.#set('reversed', signal)
    } finally {
      for (const hold of holds) hold.release()
    }
    const pauseMs = performance.now() - started
    for (const pair of this.plan.pairs) await this.#dropReverse(pair, signal)
    const report = {
      pauseMs,
      bufferedWrites: holds.reduce((n, h) => n + h.buffered, 0),
      version: from.version,
    }
    await this.#store.note(this.plan.id, { reverse: report }, signal)
    return report
  }

  /** After a cutover: ends the reverse replication and deletes, on each side, the rows the other side owns. */
  async complete(options: StepOptions & { batchRows?: number } = {}): Promise<{ deletedRows: number }> {
    this.#expect(['cut-over', 'completed'], 'complete')
    const { signal } = options
    const batch = options.batchRows ?? 5000
    let deletedRows = 0
    for (const pair of this.plan.pairs) {
      await this.#dropReverse(pair, signal)
      const tables = await this.#tables(pair, signal)
      // A binding group's rows leave together (they share the key's hash), so the foreign keys between
      // them would only dictate the order of the deletes: skip their triggers, as replication does.
      await withAdmin(
        pair.source.url,
        async (sql) => {
          await sql('SET session_replication_role = replica')
          await dropPublication(sql, replicationNames(this.plan, pair).forward)
          for (const t of tables)
            if (t.kind === 'split') deletedRows += await deleteBatched(sql, t.name, t.moved!, batch, signal)
        },
        signal,
      )
      await withAdmin(
        pair.target.url,
        async (sql) => {
          await sql('SET session_replication_role = replica')
          for (const t of tables) {
            if (t.kind === 'split') deletedRows += await deleteBatched(sql, t.name, t.kept!, batch, signal)
            else if (t.kind === 'stay') await sql(`TRUNCATE ${ident(t.name)}`)
          }
        },
        signal,
      )
    }
    await this.#set('completed', signal)
    return { deletedRows }
  }

  /** Before a cutover: drops the replication and the new databases; the map never changed. */
  async abort(options: StepOptions = {}): Promise<void> {
    this.#expect(['planned', 'copying'], 'abort')
    const { signal } = options
    for (const pair of this.plan.pairs) {
      const names = replicationNames(this.plan, pair)
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
    await this.#set('aborted', signal)
  }

  async #reverseReplication(
    pair: ReshardPair,
    sourceTables: readonly ReshardTable[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const names = replicationNames(this.plan, pair)
    // The fence travels back too, so `reverse` can prove the sources have caught up.
    const tables = sourceTables.filter((t) => t.kind === 'split' || t.name === FENCE_TABLE)
    await withAdmin(
      pair.target.url,
      async (sql) => {
        // The forward apply worker must be gone before the source publishes to it in reverse, or a change
        // would travel back and forth (PostgreSQL 15 has no `origin = none`).
        await dropSubscription(sql, names.forward)
        await sql(
          `CREATE PUBLICATION ${ident(names.reverse)} FOR TABLE ${tables.map((t) => ident(t.name)).join(', ')}`,
        )
        await sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.reverse])
      },
      signal,
    )
    await withAdmin(
      pair.source.url,
      async (sql) => {
        await dropSlot(sql, names.forward)
        await sql(
          `CREATE SUBSCRIPTION ${ident(names.reverse)} CONNECTION ${literal(pair.target.url)} PUBLICATION ${ident(names.reverse)} ` +
            `WITH (create_slot = false, slot_name = ${literal(names.reverse)}, copy_data = false)`,
        )
      },
      signal,
    )
  }

  async #dropReverse(pair: ReshardPair, signal: AbortSignal | undefined): Promise<void> {
    const names = replicationNames(this.plan, pair)
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

  async #pairStatus(pair: ReshardPair, signal: AbortSignal | undefined): Promise<PairStatus> {
    const names = replicationNames(this.plan, pair)
    const base = { source: pair.source.name, target: pair.target.name }
    if (this.state !== 'copying') return { ...base, tablesReady: 0, tables: 0, lagBytes: null }
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
      ...base,
      tablesReady: states[0]!.ready,
      tables: states[0]!.total,
      lagBytes: bytes == null ? null : Number(bytes),
    }
  }

  async #tables(pair: ReshardPair, signal: AbortSignal | undefined): Promise<ReshardTable[]> {
    const rows = await withAdmin(
      pair.source.url,
      (sql) =>
        sql<{ name: string }>(
          "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        ),
      signal,
    )
    return classifyTables(
      this.plan,
      pair,
      rows.map((r) => r.name),
    )
  }

  #expect(states: readonly ReshardState[], step: string): void {
    if (!states.includes(this.#record.state)) {
      throw new ShardError(
        'E_RESHARD_STATE',
        `${step} needs the resharding ${states.join(' or ')}, not ${this.#record.state}`,
        {
          state: this.#record.state,
        },
      )
    }
  }

  async #set(state: ReshardState, signal: AbortSignal | undefined): Promise<void> {
    this.#record = await this.#store.setState(this.plan.id, state, signal)
  }
}

async function untilApplying(
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

async function databaseExists(sql: AdminSql, name: string): Promise<boolean> {
  return (await sql('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length > 0
}

/** pg_subscription is shared by the server's databases: look in this one's. */
const SUBSCRIPTION_HERE =
  'SELECT 1 FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())'

async function requireReplicaIdentity(
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

async function dropSubscription(sql: AdminSql, name: string): Promise<void> {
  const found = await sql(SUBSCRIPTION_HERE, [name])
  if (found.length === 0) return
  // Detach the slot first: it lives on the publisher and is dropped there (or is gone already).
  await sql(`ALTER SUBSCRIPTION ${ident(name)} DISABLE`)
  await sql(`ALTER SUBSCRIPTION ${ident(name)} SET (slot_name = NONE)`)
  await sql(`DROP SUBSCRIPTION ${ident(name)}`)
}

async function dropSlot(sql: AdminSql, name: string): Promise<void> {
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

async function dropPublication(sql: AdminSql, name: string): Promise<void> {
  await sql(`DROP PUBLICATION IF EXISTS ${ident(name)}`)
}

async function deleteBatched(
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

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => {
    throw abortedError(signal!)
  })
}
