import { request } from 'undici'

/** What Patroni's REST API says of its own member (`GET /patroni`, `/primary`, `/replica`). */
export interface PatroniMemberStatus {
  /** `running`, `starting`, `stopped`, `creating replica`… */
  readonly state: string
  /** `master` (Patroni 3.0's word for the primary) or `replica`. */
  readonly role: string
  readonly timeline?: number
  /** The primary's `pg_stat_replication`: one row per connected standby. */
  readonly replication?: ReadonlyArray<{
    readonly application_name: string
    readonly state: string
    readonly sync_state: string
  }>
}

/** One member as `GET /cluster` lists it (read from etcd by whichever member answers). */
export interface PatroniTopologyMember {
  readonly name: string
  /** `leader`, `sync_standby` or `replica`. */
  readonly role: string
  readonly state: string
  readonly host?: string
  readonly port?: number
  readonly timeline?: number
  /** Bytes behind the leader, or `'unknown'`. */
  readonly lag?: number | string
}

/** `GET /cluster`: every member that has a key in etcd, sorted by name. */
export interface PatroniTopology {
  readonly members: readonly PatroniTopologyMember[]
}

/** The primary's status words: Patroni 3.0 says `master`, later versions `primary`. */
export function isPrimaryStatus(status: PatroniMemberStatus | undefined): boolean {
  return status?.state === 'running' && (status.role === 'master' || status.role === 'primary')
}

/**
 * `GET <restUrl><path>` of one member: its HTTP status and JSON body (Patroni's health endpoints
 * answer 503 with the body too), or `undefined` when it does not answer within `timeoutMs`.
 */
export async function patroniGet<T>(
  restUrl: string,
  path: string,
  signal: AbortSignal | undefined,
  timeoutMs = 2000,
): Promise<{ status: number; body: T | undefined } | undefined> {
  const bound = AbortSignal.timeout(timeoutMs)
  try {
    const res = await request(`${restUrl}${path}`, {
      signal: signal ? AbortSignal.any([signal, bound]) : bound,
      headers: { connection: 'close' },
    })
    const text = await res.body.text()
    let body: T | undefined
    try {
      body = JSON.parse(text) as T
    } catch {
      body = undefined
    }
    return { status: res.statusCode, body }
  } catch {
    if (signal?.aborted) throw signal.reason
    return undefined
  }
}
