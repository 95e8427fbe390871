import { setTimeout as delay } from 'node:timers/promises'
import { abortedError, ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import { withAdmin } from '../reshard/pg-admin.js'
import type { ShardRouter } from '../router/shard-router.js'
import { AckBook } from './ack-book.js'
import { type ListenClient, listen } from './listen-client.js'
import { LocalRouters } from './local-routers.js'
import {
  ACK_CHANNEL,
  ACTIVE_SWITCHES_SQL,
  type ActiveSwitch,
  ensureSwitchTables,
  LIVE_ROUTERS_SQL,
  type LiveRouter,
  parseMessage,
  RELEASE_SWITCH_SQL,
  SWITCH_CHANNEL,
  type SwitchSql,
  switchError,
} from './switch-tables.js'

/** A router's part in one switch, as it reported it. */
export interface RouterSwitch {
  /** Its row in `hf_shard_router` (`local-<n>` for the routers given in process). */
  readonly id: string
  readonly name: string
  /** How long its writes were held, by its own clock; null when it did not confirm the switch in time. */
  readonly pauseMs: number | null
  /** Writes that waited in its hold. */
  readonly bufferedWrites: number
  /** The map version it confirmed being on; null when it did not confirm in time. */
  readonly version: number | null
}

/** What a cutover or a reverse measured. */
export interface SwitchReport {
  /** The longest any router held its writes: what a buffered write waited at most, in ms. */
  readonly pauseMs: number
  /** Writes that were waiting when they were released, over every router. */
  readonly bufferedWrites: number
  /** The map version switched to. */
  readonly version: number
  /** Every router that took part (watching ones and those given in process). */
  readonly routers: readonly RouterSwitch[]
  /** Registered routers left out because their lease ran out before the hold (dead, or cut off). */
  readonly excluded: readonly { readonly id: string; readonly name: string }[]
  /**
   * Where the pause went, in ms from announcing the hold: every router acknowledged (`held`), the data
   * was ready (`prepared`: the fences), the replication was swapped (`applied`), the map was published
   * (`published`). 0 for steps a resumed switch did not run.
   */
  readonly steps: {
    readonly held: number
    readonly prepared: number
    readonly applied: number
    readonly published: number
  }
}

/** How a switch is made. @internal */
export interface SwitchPlan {
  /** The control database (`postgres://…/<database 0>`). */
  readonly control: string
  /** This attempt's id, unique (`<resharding>:v<version>:<random>`). */
  readonly id: string
  readonly map: ShardMap
  /** Writes to these databases (by index) are held. */
  readonly databases: readonly number[]
  /** Routers of this process, switched directly. */
  readonly routers: readonly ShardRouter[]
  /** The hold is given up (nothing switched) unless acknowledged and prepared within this. */
  readonly prepareMs: number
  /** Told to routers: they give the hold up this (plus their grace) after it began. */
  readonly holdMs: number
  /** How long to wait for routers to answer before the hold, and to confirm after the switch. */
  readonly routerWaitMs: number
  /** The attempt passed its point of no return before and is finished now: no hold, no prepare. */
  readonly resume: boolean
  /** With every write held: makes sure the data is where the new map says (fences). May fail. */
  prepare(signal: AbortSignal): Promise<void>
  /** After the point of no return: idempotent, retried until it succeeds (never given the caller's signal). */
  apply(signal: AbortSignal | undefined): Promise<void>
  /** Statements in the transaction that publishes the map (the resharding's new state). */
  commit(sql: SwitchSql): Promise<void>
  readonly signal: AbortSignal | undefined
}

const APPLY_ATTEMPTS = 8

/**
 * Switches every router to a new map with their writes held meanwhile — the routers in this process
 * directly, those watching the control database (`watchShardMap`) through its channel:
 *
 * 1. **ping**: every router with a running lease must answer within `routerWaitMs`; one that does not
 *    is waited for until its lease runs out (it is dead, or cut off and holding its own writes), and
 *    if it still has a lease then, nothing is held and the switch fails.
 * 2. **hold**: the switch is recorded (`holding`) and announced; each router holds the databases'
 *    writes, waits for those in flight and acknowledges. A router that registers meanwhile sees the
 *    record and holds too.
 * 3. **prepare** (fences) — then the point of no return: `holding` → `switching`, unless a router gave
 *    the hold up first. Any failure before: `released` is announced and writes go on on the old map.
 * 4. **apply**, then one transaction stores the map, records `switched` (and the caller's state) and
 *    announces it; routers load the map and release their writes there.
 *
 * @internal
 */
export async function switchRouters(plan: SwitchPlan): Promise<SwitchReport> {
  const { signal } = plan
  const acks = new AckBook(plan.id)
  const client = await listen(
    plan.control,
    [ACK_CHANNEL],
    { message: (_channel, payload) => acks.add(parseMessage(payload)), lost: (error) => acks.lost(error) },
    { signal, applicationName: `hundredfold-shard switch ${plan.id}`.slice(0, 63) },
  )
  const local = new LocalRouters(plan.routers, plan.id)
  try {
    const { sql } = client
    await ensureSwitchTables(sql)
    await refuseOtherSwitches(sql, plan)
    await refuseStoredVersion(sql, plan.map)
    let excluded: SwitchReport['excluded'] = []
    let started = performance.now()
    const steps = { held: 0, prepared: 0, applied: 0, published: 0 }
    if (!plan.resume) {
      excluded = await ping(client, acks, plan)
      started = performance.now()
      try {
        await sql(
          `WITH s AS (INSERT INTO hf_shard_switch (id, phase, databases, version, hold_ms) VALUES ($1, 'holding', $2, $3, $4) RETURNING id)
           SELECT pg_notify('${SWITCH_CHANNEL}', $5) FROM s`,
          [
            plan.id,
            plan.databases,
            plan.map.version,
            plan.holdMs,
            JSON.stringify({
              op: 'hold',
              switch: plan.id,
              databases: plan.databases,
              version: plan.map.version,
              holdMs: plan.holdMs,
            }),
          ],
        )
        const deadline = AbortSignal.any([
          ...(signal ? [signal] : []),
          AbortSignal.timeout(Math.max(1, Math.ceil(plan.prepareMs - (performance.now() - started)))),
        ])
        await local.hold(plan.databases, deadline)
        await untilAcknowledged(sql, acks, deadline, signal)
        steps.held = performance.now() - started
        await plan.prepare(deadline)
        steps.prepared = performance.now() - started
        const moved = await sql(
          "UPDATE hf_shard_switch SET phase = 'switching', updated_at = now() WHERE id = $1 AND phase = 'holding' RETURNING id",
          [plan.id],
        )
        if (moved.length === 0) throw switchError('a router gave the hold up before the switch')
      } catch (err) {
        // Nothing switched: every router goes on on the old map — unless the move to `switching` went
        // through after all (its answer lost with the connection): then the switch must be finished.
        const phase = await withAdmin(plan.control, async (admin) => {
          await admin(RELEASE_SWITCH_SQL, [plan.id])
          const [row] = await admin<{ phase: string }>('SELECT phase FROM hf_shard_switch WHERE id = $1', [
            plan.id,
          ])
          return row?.phase
        }).catch(() => 'unknown')
        if (phase !== 'released' && phase !== undefined) {
          throw new ShardError(
            'E_RESHARD_STATE',
            `switch ${plan.id} may be past its point of no return (${phase}; writes stay held): run it again`,
            { state: 'switching' },
            { cause: err },
          )
        }
        local.release()
        if (signal?.aborted) throw abortedError(signal)
        if (err instanceof ShardError && err.code === 'E_ABORTED') {
          throw switchError(
            `the hold was given up after ${plan.prepareMs} ms (routers acknowledging, databases catching up): nothing was switched`,
          )
        }
        throw err
      }
    } else {
      await local.hold(plan.databases, signal)
    }
    await applyUntilDone(plan)
    steps.applied = performance.now() - started
    await publish(plan)
    steps.published = performance.now() - started
    const held = steps.published
    const routers = [
      ...local.switchTo(plan.map),
      ...(await untilSwitched(sql, acks, plan).catch(() => unconfirmed(acks))),
    ]
    return {
      // Each router's own figure; the coordinator's hold window for one that did not confirm (or none).
      pauseMs: Math.max(...routers.map((r) => r.pauseMs ?? held), routers.length > 0 ? 0 : held),
      bufferedWrites: routers.reduce((n, r) => n + r.bufferedWrites, 0),
      version: plan.map.version,
      routers,
      excluded,
      steps,
    }
  } finally {
    await client.close()
  }
}

/**
 * Every router with a running lease answers, or is waited for until its lease runs out. Routers that
 * register meanwhile are pinged too. Returns those left out.
 */
async function ping(client: ListenClient, acks: AckBook, plan: SwitchPlan) {
  const first = await client.sql<LiveRouter>(LIVE_ROUTERS_SQL)
  if (first.length === 0) return []
  const pinged = new Set<string>()
  const until = performance.now() + plan.routerWaitMs
  for (;;) {
    const live = await client.sql<LiveRouter>(LIVE_ROUTERS_SQL)
    if (live.some((r) => !pinged.has(r.id))) {
      for (const r of live) pinged.add(r.id)
      await client.notify(SWITCH_CHANNEL, { op: 'ping', switch: plan.id })
    }
    const silent = live.filter((r) => acks.get('pong', r.id) === undefined)
    if (silent.length === 0) {
      const left = new Set(live.map((r) => r.id))
      return first.filter((r) => !left.has(r.id)).map(({ id, name }) => ({ id, name }))
    }
    if (performance.now() >= until) {
      throw switchError(
        `${silent.length} router(s) did not answer within ${plan.routerWaitMs} ms and still have a lease: ` +
          `${silent.map((r) => `${r.name} (${r.id}, ${r.lease_left_ms} ms left)`).join(', ')}; nothing was held`,
      )
    }
    await acks.next(25, plan.signal)
  }
}

/** Waits until every router with a running lease (read again each time) acknowledged the hold. */
async function untilAcknowledged(
  sql: SwitchSql,
  acks: AckBook,
  deadline: AbortSignal,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    const live = await sql<LiveRouter>(LIVE_ROUTERS_SQL)
    const missing = live.filter((r) => acks.get('held', r.id) === undefined)
    if (missing.length === 0) return
    if (deadline.aborted && !signal?.aborted) {
      throw switchError(
        `router(s) did not acknowledge the hold in time: ${missing.map((r) => `${r.name} (${r.id})`).join(', ')}; nothing was switched`,
      )
    }
    await acks.next(10, deadline).catch((err: unknown) => {
      if (signal?.aborted || !(err instanceof ShardError && err.code === 'E_ABORTED')) throw err
    })
  }
}

/**
 * After the switch: each router that held confirms the new map (or is reported unconfirmed). A resumed
 * switch did not hear the holds (its first coordinator did): every live router is expected then.
 */
async function untilSwitched(sql: SwitchSql, acks: AckBook, plan: SwitchPlan): Promise<RouterSwitch[]> {
  const until = performance.now() + plan.routerWaitMs
  const expected = new Map(acks.all('held').map((a) => [a.router, a.name]))
  if (plan.resume) for (const r of await sql<LiveRouter>(LIVE_ROUTERS_SQL)) expected.set(r.id, r.name)
  for (;;) {
    const pending = [...expected.keys()].filter((id) => acks.get('switched', id) === undefined)
    if (pending.length > 0 && performance.now() < until) {
      const live = new Set((await sql<LiveRouter>(LIVE_ROUTERS_SQL)).map((r) => r.id))
      if (pending.some((id) => live.has(id))) {
        await acks.next(10, undefined) // bounded by routerWaitMs; the switch is made already
        continue
      }
    }
    return [...expected].map(([id, name]) => {
      const done = acks.get('switched', id)
      return {
        id,
        name,
        pauseMs: done?.pauseMs ?? null,
        bufferedWrites: done?.bufferedWrites ?? 0,
        version: done?.version ?? null,
      }
    })
  }
}

/** The routers that held, none confirmed: the report when the confirmations cannot be awaited. */
function unconfirmed(acks: AckBook): RouterSwitch[] {
  return acks.all('held').map((a) => {
    const done = acks.get('switched', a.router)
    return {
      id: a.router,
      name: a.name,
      pauseMs: done?.pauseMs ?? null,
      bufferedWrites: done?.bufferedWrites ?? 0,
      version: done?.version ?? null,
    }
  })
}

async function refuseOtherSwitches(sql: SwitchSql, plan: SwitchPlan): Promise<void> {
  for (const other of await sql<ActiveSwitch>(ACTIVE_SWITCHES_SQL)) {
    if (other.id === plan.id) continue
    // A holding switch whose routers have all given it up by now is a coordinator's leftover.
    if (other.phase === 'holding' && other.age_ms > other.hold_ms + 10_000) {
      await sql(RELEASE_SWITCH_SQL, [other.id])
      continue
    }
    throw switchError(`another switch is under way: ${other.id} (${other.phase})`, other.phase)
  }
}

async function refuseStoredVersion(sql: SwitchSql, map: ShardMap): Promise<void> {
  const [row] = await sql<{ version: number | null }>('SELECT max(version) AS version FROM hf_shard_map')
  if (row?.version != null && row.version >= map.version) {
    throw switchError(
      `hf_shard_map holds version ${row.version} already; this switch would store ${map.version}`,
      'version',
    )
  }
}

/** Past the point of no return the replication steps must go through: they are retried. */
async function applyUntilDone(plan: SwitchPlan): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Not the caller's signal: stopping here would leave every router holding its writes.
      await plan.apply(undefined)
      return
    } catch (err) {
      if (attempt >= APPLY_ATTEMPTS) {
        throw new ShardError(
          'E_RESHARD_STATE',
          `switch ${plan.id} is past its point of no return and could not finish (writes stay held): run it again`,
          { state: 'switching' },
          { cause: err },
        )
      }
      await delay(Math.min(50 * 2 ** attempt, 2000))
    }
  }
}

/** One transaction: the map, `switched`, the caller's state, and the announcement (sent at commit). */
async function publish(plan: SwitchPlan): Promise<void> {
  await withAdmin(
    plan.control,
    async (sql) => {
      await sql('BEGIN')
      try {
        const stored = await sql(
          `INSERT INTO hf_shard_map (version, document) SELECT $1, $2::jsonb
           WHERE NOT EXISTS (SELECT 1 FROM hf_shard_map WHERE version >= $1) RETURNING version`,
          [plan.map.version, JSON.stringify(plan.map.toJSON())],
        )
        if (stored.length === 0)
          throw switchError(`a shard map of version ${plan.map.version} or newer is stored`)
        await sql(
          "UPDATE hf_shard_switch SET phase = 'switched', updated_at = now() WHERE id = $1 AND phase = 'switching'",
          [plan.id],
        )
        await plan.commit(sql)
        await sql('SELECT pg_notify($1, $2)', [
          SWITCH_CHANNEL,
          JSON.stringify({ op: 'switch', switch: plan.id, version: plan.map.version }),
        ])
        await sql('COMMIT')
      } catch (err) {
        await sql('ROLLBACK').catch(() => {})
        throw err
      }
    },
    // Past the point of no return: finished even when the caller gives up (see applyUntilDone).
  )
}
