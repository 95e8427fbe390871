import { ShardError } from '../errors.js'
import { shardMapTableSql } from '../map/shard-map-store.js'

/** Coordinator → routers: `ping`, `hold`, `switch`, `release` of one switch. */
export const SWITCH_CHANNEL = 'hf_shard_map'
/** Routers → coordinator: `pong`, `held`, `switched`, `released`. */
export const ACK_CHANNEL = 'hf_shard_map_ack'

/**
 * The switch protocol's tables, in the control database (database 0 of the map, beside `hf_reshard`):
 * `hf_shard_map` (the maps), `hf_shard_router` (one row per watching router, kept alive by its
 * heartbeat) and `hf_shard_switch` (one row per switch attempt, its phase the truth routers and
 * coordinators meet at).
 */
export const switchTablesSql = [
  shardMapTableSql,
  `CREATE TABLE IF NOT EXISTS hf_shard_router (
  id text PRIMARY KEY,
  name text NOT NULL,
  version int NOT NULL,
  lease_ms int NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
)`,
  `CREATE TABLE IF NOT EXISTS hf_shard_switch (
  id text PRIMARY KEY,
  phase text NOT NULL CHECK (phase IN ('holding', 'switching', 'switched', 'released')),
  databases int[] NOT NULL,
  version int NOT NULL,
  hold_ms int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
]

/** Runs a statement; rows back. What both sides of the protocol are given. */
export type SwitchSql = <Row = Record<string, unknown>>(
  text: string,
  params?: readonly unknown[],
) => Promise<Row[]>

/**
 * Creates the tables if needed. Serialised by an advisory lock: `CREATE TABLE IF NOT EXISTS` run by two
 * sessions at once can fail on the catalog's unique index (several routers start together).
 */
export async function ensureSwitchTables(sql: SwitchSql): Promise<void> {
  const present = await sql<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('hf_shard_map', 'hf_shard_router', 'hf_shard_switch')",
  )
  if (present[0]?.n === 3) return
  await sql('BEGIN')
  try {
    await sql("SELECT pg_advisory_xact_lock(hashtext('hf_shard_switch'))")
    for (const statement of switchTablesSql) await sql(statement)
    await sql('COMMIT')
  } catch (err) {
    await sql('ROLLBACK').catch(() => {})
    throw err
  }
}

/** Routers whose lease runs: a cutover waits for each of them. */
export const LIVE_ROUTERS_SQL = `SELECT id, name, version,
  ceil(extract(epoch FROM heartbeat_at + lease_ms * interval '1 millisecond' - now()) * 1000)::int AS lease_left_ms
  FROM hf_shard_router WHERE heartbeat_at + lease_ms * interval '1 millisecond' > now() ORDER BY id`

/** A row of {@link LIVE_ROUTERS_SQL}. */
export interface LiveRouter {
  readonly id: string
  readonly name: string
  readonly version: number
  readonly lease_left_ms: number
}

/** A switch still under way: routers hold for `holding` and `switching` ones. */
export const ACTIVE_SWITCHES_SQL = `SELECT id, phase, databases, version, hold_ms,
  (extract(epoch FROM now() - updated_at) * 1000)::int AS age_ms
  FROM hf_shard_switch WHERE phase IN ('holding', 'switching') ORDER BY created_at`

/** A row of {@link ACTIVE_SWITCHES_SQL}. */
export interface ActiveSwitch {
  readonly id: string
  readonly phase: 'holding' | 'switching'
  readonly databases: number[]
  readonly version: number
  readonly hold_ms: number
  readonly age_ms: number
}

/**
 * Gives a holding switch up — unless its coordinator passed the point of no return first — and tells
 * every router, in one statement (the NOTIFY goes out when the update commits). Routers run it when a
 * hold outlives its time (the coordinator is gone); the coordinator when it gives up.
 */
export const RELEASE_SWITCH_SQL = `WITH released AS (
  UPDATE hf_shard_switch SET phase = 'released', updated_at = now() WHERE id = $1 AND phase = 'holding' RETURNING id
) SELECT pg_notify('${SWITCH_CHANNEL}', json_build_object('op', 'release', 'switch', id)::text) FROM released`

/** A message on {@link SWITCH_CHANNEL}. */
export type SwitchMessage =
  | { readonly op: 'ping'; readonly switch: string }
  | {
      readonly op: 'hold'
      readonly switch: string
      readonly databases: number[]
      /** The map version the switch goes to. */
      readonly version: number
      /** How long the coordinator may hold; the router gives up `holdGraceMs` after that. */
      readonly holdMs: number
    }
  | { readonly op: 'switch'; readonly switch: string; readonly version: number }
  | { readonly op: 'release'; readonly switch: string }

/** A message on {@link ACK_CHANNEL}. */
export interface AckMessage {
  readonly op: 'pong' | 'held' | 'switched' | 'released'
  readonly switch: string
  readonly router: string
  readonly name: string
  /** The map version the router uses now. */
  readonly version: number
  /** `switched`, `released`: how long the router held its writes, and how many waited. */
  readonly pauseMs?: number
  readonly bufferedWrites?: number
}

/** Parses a notification payload; undefined for anything that is not a message of this protocol. */
export function parseMessage<T extends { op: string; switch: string }>(
  payload: string | undefined,
): T | undefined {
  if (payload === undefined) return undefined
  try {
    const message = JSON.parse(payload) as T
    return typeof message?.op === 'string' && typeof message.switch === 'string' ? message : undefined
  } catch {
    return undefined
  }
}

/** The `E_RESHARD_STATE` of a switch that could not be made. @internal */
export function switchError(message: string, state = 'switch', cause?: unknown): ShardError {
  return new ShardError('E_RESHARD_STATE', message, { state }, cause === undefined ? undefined : { cause })
}
