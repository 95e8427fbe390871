import { ShardError } from '../errors.js'
import { type AdminSql, withAdmin } from './pg-admin.js'
import type { ReshardPlan } from './reshard-plan.js'

/** The steps a resharding goes through. */
export type ReshardState = 'planned' | 'copying' | 'cut-over' | 'reversed' | 'completed' | 'aborted'

/** A resharding as recorded: its plan, state and what its steps measured. */
export interface ReshardRecord {
  readonly plan: ReshardPlan
  readonly state: ReshardState
  readonly notes: Record<string, unknown>
  readonly updatedAt: Date
}

const TABLE_SQL = `CREATE TABLE IF NOT EXISTS hf_reshard (
  id text PRIMARY KEY,
  plan jsonb NOT NULL,
  state text NOT NULL,
  notes jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
)`

/**
 * Where reshardings are recorded: `hf_reshard` in the first database of the source map (database 0
 * stays in every map), so any process (or the CLI) can pick a resharding up by its id.
 */
export class ReshardStore {
  readonly #url: string

  constructor(controlUrl: string) {
    this.#url = controlUrl
  }

  /** The control database: `postgres://…/<database 0>`. */
  get url(): string {
    return this.#url
  }

  /** Every recorded resharding, the most recently changed first. */
  async list(signal?: AbortSignal): Promise<ReshardRecord[]> {
    return withAdmin(
      this.#url,
      async (sql) => {
        await sql(TABLE_SQL)
        const rows = await sql<Row>(
          'SELECT plan, state, notes, updated_at FROM hf_reshard ORDER BY updated_at DESC, id',
        )
        return rows.map(record)
      },
      signal,
    )
  }

  async insert(plan: ReshardPlan, signal?: AbortSignal): Promise<ReshardRecord> {
    return withAdmin(
      this.#url,
      async (sql) => {
        await sql(TABLE_SQL)
        const rows = await sql<Row>(
          `INSERT INTO hf_reshard (id, plan, state) VALUES ($1, $2, 'planned') ON CONFLICT (id) DO NOTHING
         RETURNING plan, state, notes, updated_at`,
          [plan.id, JSON.stringify(plan)],
        )
        if (rows.length === 0) {
          throw new ShardError('E_RESHARD_STATE', `a resharding ${plan.id} is recorded already: load() it`, {
            state: 'exists',
          })
        }
        return record(rows[0]!)
      },
      signal,
    )
  }

  async get(id: string, signal?: AbortSignal): Promise<ReshardRecord> {
    return withAdmin(
      this.#url,
      async (sql) => {
        await sql(TABLE_SQL)
        const rows = await sql<Row>('SELECT plan, state, notes, updated_at FROM hf_reshard WHERE id = $1', [
          id,
        ])
        if (rows.length === 0)
          throw new ShardError('E_RESHARD_STATE', `no resharding ${id} is recorded`, { state: 'missing' })
        return record(rows[0]!)
      },
      signal,
    )
  }

  async setState(id: string, state: ReshardState, signal?: AbortSignal): Promise<ReshardRecord> {
    return withAdmin(
      this.#url,
      async (sql) => {
        const rows = await sql<Row>(
          'UPDATE hf_reshard SET state = $2, updated_at = now() WHERE id = $1 RETURNING plan, state, notes, updated_at',
          [id, state],
        )
        return record(rows[0]!)
      },
      signal,
    )
  }

  /** Merges `notes` into the record's notes (what the steps measured). */
  async note(id: string, notes: Record<string, unknown>, signal?: AbortSignal): Promise<ReshardRecord> {
    return withAdmin(
      this.#url,
      async (sql) => {
        const rows = await sql<Row>(
          `UPDATE hf_reshard SET notes = notes || $2::jsonb, updated_at = now() WHERE id = $1
           RETURNING plan, state, notes, updated_at`,
          [id, JSON.stringify(notes)],
        )
        return record(rows[0]!)
      },
      signal,
    )
  }
}

/**
 * Sets a resharding's state and merges `notes`, on a connection the caller has (inside the transaction
 * that publishes a switched map, so the two never disagree).
 */
export async function recordState(
  sql: AdminSql,
  id: string,
  state: ReshardState,
  notes: Record<string, unknown>,
): Promise<ReshardRecord> {
  const rows = await sql<Row>(
    `UPDATE hf_reshard SET state = $2, notes = notes || $3::jsonb, updated_at = now() WHERE id = $1
     RETURNING plan, state, notes, updated_at`,
    [id, state, JSON.stringify(notes)],
  )
  if (rows.length === 0)
    throw new ShardError('E_RESHARD_STATE', `no resharding ${id} is recorded`, { state: 'missing' })
  return record(rows[0]!)
}

interface Row {
  plan: ReshardPlan
  state: ReshardState
  notes: Record<string, unknown>
  updated_at: Date
}

function record(row: Row): ReshardRecord {
  return { plan: row.plan, state: row.state, notes: row.notes, updatedAt: row.updated_at }
}
