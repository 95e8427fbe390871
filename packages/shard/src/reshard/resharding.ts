import { randomBytes } from 'node:crypto'
import { ShardError } from '../errors.js'
import { parseShardMap, type ShardMap } from '../map/shard-map.js'
import { type SwitchReport, switchRouters } from '../switch/switch-routers.js'
import { LIVE_ROUTERS_SQL, type LiveRouter } from '../switch/switch-tables.js'
import { fence } from './fence.js'
import {
  abortPair,
  completePair,
  followAgain,
  type PairStatus,
  pairStatus,
  pairTables,
  refollowPair,
  reverseReplication,
  startPair,
} from './pair-steps.js'
import { withAdmin } from './pg-admin.js'
import { pause, untilApplying } from './replication.js'
import type { ReshardPlan } from './reshard-plan.js'
import { replicationNames } from './reshard-sql.js'
import { type ReshardRecord, type ReshardState, ReshardStore, recordState } from './reshard-store.js'
import {
  type ResolvedSwitchOptions,
  reshardSwitchDefaults,
  resolveSwitchOptions,
  type StepOptions,
  type SwitchOptions,
} from './switch-options.js'
import { type VerifyReport, verifyPairs } from './verify.js'

export interface ReshardStatus {
  readonly id: string
  readonly state: ReshardState
  /** The map version in use: the source map's before the first cutover, then each switch's. */
  readonly mapVersion: number
  readonly pairs: readonly PairStatus[]
  /** Every table copied and the lag under `maxLagBytes` of `waitCaughtUp`'s default. */
  readonly caughtUp: boolean
  /** Routers watching the control database whose lease runs: a cutover switches each of them. */
  readonly routers: readonly { id: string; name: string; version: number; leaseLeftMs: number }[]
}

const CAUGHT_UP_BYTES = 1024 * 1024

/**
 * An online doubling of a shard map's databases, step by step (each step is safe to run again after a
 * failure, and its progress is recorded in `hf_reshard` in the first database, the control database):
 *
 * 1. `start`: creates each new database, copies the schema (`pg_dump --schema-only`), publishes every
 *    table of the source (`hf_rs_<id>_<dd>`) and subscribes the new database to it: PostgreSQL's logical
 *    replication copies the tables, then streams every change.
 * 2. `status` / `waitCaughtUp`: initial copies done and the replication lag.
 * 3. `verify`: count and checksum per chunk of the rows that move, source against new database.
 * 4. `cutover`: holds the writes of every router (those given, and those of other processes watching
 *    the control database) to the source databases — buffered, not failed — fences each new database,
 *    replaces the forward replication by a reverse one, stores the doubled map and switches the routers.
 * 5. `complete`: ends the reverse replication and deletes the redundant half on both sides. Or
 *    `reverse`: switches back the same way, and has the new databases follow the sources again, so a
 *    later `cutover` can go forward once more.
 *
 * @example
 * const resharding = await Resharding.create(planDoubling(map), { signal })
 * await resharding.start({ signal })
 * await resharding.waitCaughtUp({ signal })
 * if ((await resharding.verify({ signal })).ok) await resharding.cutover({ signal })
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

  /**
   * A recorded resharding from the control database (database 0 of its map): by id, or without one the
   * resharding in progress (else the one changed last).
   *
   * @throws {ShardError} `E_RESHARD_STATE` when none is recorded, or several are in progress and no id is given.
   */
  static async load(controlUrl: string, id?: string, options: StepOptions = {}): Promise<Resharding> {
    const store = new ReshardStore(controlUrl)
    if (id !== undefined) return new Resharding(store, await store.get(id, options.signal))
    const records = await store.list(options.signal)
    const open = records.filter((r) => r.state !== 'completed' && r.state !== 'aborted')
    if (open.length > 1) {
      throw new ShardError(
        'E_RESHARD_STATE',
        `several reshardings are in progress (${open.map((r) => r.plan.id).join(', ')}): name one`,
        { state: 'several' },
      )
    }
    const record = open[0] ?? records[0]
    if (record === undefined)
      throw new ShardError('E_RESHARD_STATE', 'no resharding is recorded', { state: 'missing' })
    return new Resharding(store, record)
  }

  get state(): ReshardState {
    return this.#record.state
  }

  /** What the steps recorded (figures of verify, cutover, reverse; the map version). */
  get notes(): Readonly<Record<string, unknown>> {
    return this.#record.notes
  }

  /** The map version in use: the source map's before the first cutover, then the last switch's. */
  get mapVersion(): number {
    const version = this.#record.notes['version']
    return typeof version === 'number' ? version : this.plan.from.version
  }

  /** The map before (`from`) and after (`to`). */
  maps(): { from: ShardMap; to: ShardMap } {
    return { from: parseShardMap(this.plan.from), to: parseShardMap(this.plan.to) }
  }

  /** The map the routers use now: the old layout or the doubled one, as the last switch left it. */
  currentMap(): ShardMap {
    const onDoubled = this.state === 'cut-over' || this.state === 'completed'
    return parseShardMap({ ...(onDoubled ? this.plan.to : this.plan.from), version: this.mapVersion })
  }

  async start(options: StepOptions = {}): Promise<void> {
    this.#expect(['planned', 'copying'], 'start')
    for (const pair of this.plan.pairs) await startPair(this.plan, pair, options.signal)
    await this.#set('copying', options.signal)
  }

  async status(options: StepOptions = {}): Promise<ReshardStatus> {
    const { signal } = options
    const following = this.#following()
    const pairs: PairStatus[] = []
    for (const pair of this.plan.pairs) {
      pairs.push(
        following
          ? await pairStatus(this.plan, pair, signal)
          : { source: pair.source.name, target: pair.target.name, tablesReady: 0, tables: 0, lagBytes: null },
      )
    }
    const caughtUp =
      following &&
      pairs.every((p) => p.tablesReady === p.tables && p.lagBytes !== null && p.lagBytes <= CAUGHT_UP_BYTES)
    return {
      id: this.plan.id,
      state: this.#record.state,
      mapVersion: this.mapVersion,
      pairs,
      caughtUp,
      routers: await this.#liveRouters(signal),
    }
  }

  /** Waits until every table is copied and each new database is within `maxLagBytes` of its source. */
  async waitCaughtUp(
    options: StepOptions & { maxLagBytes?: number; pollMs?: number } = {},
  ): Promise<ReshardStatus> {
    this.#expectFollowing('waitCaughtUp')
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
    this.#expectFollowing('verify')
    const pairs = []
    for (const pair of this.plan.pairs) {
      pairs.push({ pair, tables: await pairTables(this.plan, pair, options.signal) })
    }
    const report = await verifyPairs(pairs, {
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      fenced: (pair, signal) => fence(pair.source.url, pair.target.url, `fwd_${this.plan.id}`, signal),
      signal: options.signal,
    })
    this.#record = await this.#store.note(
      this.plan.id,
      { verify: { ok: report.ok, chunks: report.chunks, mismatches: report.mismatches.length } },
      options.signal,
    )
    return report
  }

  /**
   * Switches every router to the doubled map, with their writes to the source databases held
   * (buffered) meanwhile: the routers given, and those of other processes that `watchShardMap` the
   * control database. Gives up without switching (and releases the writes) when the routers do not
   * acknowledge or a new database does not show the fence in time (`maxPauseMs`). The doubled map is
   * stored in `hf_shard_map` of the control database. Run again after a crash, it finishes a switch
   * that passed its point of no return.
   */
  async cutover(options: SwitchOptions = {}): Promise<SwitchReport> {
    this.#expectFollowing('cutover')
    const o = resolveSwitchOptions(options)
    const { signal } = o
    const version = this.mapVersion + 1
    const pending = await this.#pendingSwitch(version, signal)
    if (pending === undefined && !(await this.status(options)).caughtUp) {
      throw new ShardError('E_RESHARD_STATE', 'the new databases have not caught up: waitCaughtUp() first', {
        state: this.state,
      })
    }
    // Read the catalogs before holding anything: the pause is for the replication steps only.
    const tables = await Promise.all(this.plan.pairs.map((pair) => pairTables(this.plan, pair, signal)))
    const report = await this.#switch(o, {
      kind: 'cutover',
      version,
      pending,
      map: parseShardMap({ ...this.plan.to, version }),
      databases: this.plan.pairs.map((p) => p.source.index),
      // Every write committed on a source before the hold is in its new database once the fence is.
      prepare: (deadline) =>
        Promise.all(
          this.plan.pairs.map((pair) =>
            fence(pair.source.url, pair.target.url, `fwd_${this.plan.id}`, deadline),
          ),
        ),
      apply: (applySignal) =>
        Promise.all(
          this.plan.pairs.map((pair, i) => reverseReplication(this.plan, pair, tables[i]!, applySignal)),
        ),
      state: 'cut-over',
      notes: { version },
    })
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
    this.#record = await this.#store.note(this.plan.id, { cutover: report }, signal)
    return report
  }

  /**
   * After a cutover: holds writes to every database, fences the sources (they have every write the new
   * databases took), and switches back to the old layout, as the next map version (a router only moves
   * forward). Then the new databases follow the sources again (their stale copies of the rows that stay
   * are dropped first), so `cutover` may go forward once more; or `abort`. Run again after a failure, it
   * finishes what is left.
   */
  async reverse(options: SwitchOptions = {}): Promise<SwitchReport> {
    this.#expect(['cut-over', 'reversed'], 'reverse')
    const o = resolveSwitchOptions(options)
    const { signal } = o
    if (this.state === 'reversed') {
      if (this.notes['refollow'] !== 'pending') {
        throw new ShardError('E_RESHARD_STATE', 'reversed already: cutover again, or abort', {
          state: this.state,
        })
      }
      await this.#refollow(signal)
      return this.notes['reverse'] as SwitchReport
    }
    const version = this.mapVersion + 1
    const report = await this.#switch(o, {
      kind: 'reverse',
      version,
      pending: await this.#pendingSwitch(version, signal),
      map: parseShardMap({ ...this.plan.from, version }),
      databases: this.plan.pairs.flatMap((p) => [p.source.index, p.target.index]),
      prepare: (deadline) =>
        Promise.all(
          this.plan.pairs.map((pair) =>
            fence(pair.target.url, pair.source.url, `rev_${this.plan.id}`, deadline),
          ),
        ),
      apply: (applySignal) =>
        Promise.all(this.plan.pairs.map((pair) => followAgain(this.plan, pair, applySignal))),
      state: 'reversed',
      notes: { version, refollow: 'pending' },
    })
    this.#record = await this.#store.note(this.plan.id, { reverse: report }, signal)
    await this.#refollow(signal)
    return report
  }

  /** After a cutover: ends the reverse replication and deletes, on each side, the rows the other side owns. */
  async complete(options: StepOptions & { batchRows?: number } = {}): Promise<{ deletedRows: number }> {
    this.#expect(['cut-over', 'completed'], 'complete')
    let deletedRows = 0
    for (const pair of this.plan.pairs) {
      deletedRows += await completePair(this.plan, pair, options.batchRows ?? 5000, options.signal)
    }
    await this.#set('completed', options.signal)
    return { deletedRows }
  }

  /** Before a cutover (or after a reverse): drops the replication and the new databases. */
  async abort(options: StepOptions = {}): Promise<void> {
    this.#expect(['planned', 'copying', 'reversed'], 'abort')
    for (const pair of this.plan.pairs) await abortPair(this.plan, pair, options.signal)
    await this.#set('aborted', options.signal)
  }

  async #switch(
    o: ResolvedSwitchOptions,
    step: {
      kind: 'cutover' | 'reverse'
      version: number
      pending: string | undefined
      map: ShardMap
      databases: readonly number[]
      prepare(deadline: AbortSignal): Promise<unknown>
      apply(signal: AbortSignal | undefined): Promise<unknown>
      state: ReshardState
      notes: Record<string, unknown>
    },
  ): Promise<SwitchReport> {
    let record: ReshardRecord | undefined
    const report = await switchRouters({
      control: this.#store.url,
      id: step.pending ?? `${this.#switchPrefix(step.version)}${step.kind}_${randomBytes(3).toString('hex')}`,
      map: step.map,
      databases: step.databases,
      routers: o.routers,
      prepareMs: Math.floor(o.maxPauseMs * reshardSwitchDefaults.prepareShare),
      holdMs: o.maxPauseMs,
      routerWaitMs: o.routerWaitMs,
      resume: step.pending !== undefined,
      prepare: async (deadline) => {
        await step.prepare(deadline)
      },
      apply: async (signal) => {
        await step.apply(signal)
      },
      commit: async (sql) => {
        record = await recordState(sql, this.plan.id, step.state, step.notes)
      },
      signal: o.signal,
    })
    if (record) this.#record = record
    return report
  }

  /** Switch attempts of this resharding to a version are named `<id>:v<version>:…`. */
  #switchPrefix(version: number): string {
    return `${this.plan.id}:v${version}:`
  }

  /** An attempt that passed its point of no return without finishing (its coordinator died). */
  async #pendingSwitch(version: number, signal: AbortSignal | undefined): Promise<string | undefined> {
    return withAdmin(
      this.#store.url,
      async (sql) => {
        const [exists] = await sql<{ found: string | null }>(
          "SELECT to_regclass('hf_shard_switch')::text AS found",
        )
        if (!exists?.found) return undefined
        const rows = await sql<{ id: string }>(
          "SELECT id FROM hf_shard_switch WHERE starts_with(id, $1) AND phase = 'switching'",
          [this.#switchPrefix(version)],
        )
        return rows[0]?.id
      },
      signal,
    )
  }

  async #refollow(signal: AbortSignal | undefined): Promise<void> {
    for (const pair of this.plan.pairs) await refollowPair(this.plan, pair, 5000, signal)
    await Promise.all(
      this.plan.pairs.map((pair) =>
        withAdmin(
          pair.target.url,
          (sql) => untilApplying(sql, replicationNames(this.plan, pair).forward, signal),
          signal,
        ),
      ),
    )
    this.#record = await this.#store.note(this.plan.id, { refollow: 'done' }, signal)
  }

  async #liveRouters(signal: AbortSignal | undefined): Promise<ReshardStatus['routers']> {
    return withAdmin(
      this.#store.url,
      async (sql) => {
        const [exists] = await sql<{ found: string | null }>(
          "SELECT to_regclass('hf_shard_router')::text AS found",
        )
        if (!exists?.found) return []
        const rows = await sql<LiveRouter>(LIVE_ROUTERS_SQL)
        return rows.map((r) => ({ id: r.id, name: r.name, version: r.version, leaseLeftMs: r.lease_left_ms }))
      },
      signal,
    )
  }

  /** Whether the new databases follow the sources (copying, or again after a reverse). */
  #following(): boolean {
    return this.state === 'copying' || (this.state === 'reversed' && this.notes['refollow'] === 'done')
  }

  #expectFollowing(step: string): void {
    this.#expect(['copying', 'reversed'], step)
    if (!this.#following()) {
      throw new ShardError(
        'E_RESHARD_STATE',
        `${step}: the new databases do not follow the sources again yet: run reverse again to finish it`,
        { state: this.state },
      )
    }
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
