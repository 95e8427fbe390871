import type { Probe } from '../health.js'
import type { PatroniMemberLayout } from './ha-layout.js'
import { isPrimaryStatus, type PatroniMemberStatus, patroniGet } from './patroni-rest.js'

/** A member that says it is the primary, and what it says. */
export interface PrimaryAnswer {
  readonly member: PatroniMemberLayout
  readonly status: PatroniMemberStatus
}

/**
 * Asks every member's `GET /primary` at once: the member that holds the leader key and runs
 * PostgreSQL read-write answers 200. Should two answer (a former primary not yet demoted), the
 * newest timeline wins.
 */
export async function primaryOf(
  members: readonly PatroniMemberLayout[],
  signal?: AbortSignal,
): Promise<PrimaryAnswer | undefined> {
  const answers = await Promise.all(
    members.map(async (member) => ({
      member,
      answer: await patroniGet<PatroniMemberStatus>(member.restUrl, '/primary', signal, 1000),
    })),
  )
  const primaries = answers
    .filter((a) => a.answer?.status === 200 && isPrimaryStatus(a.answer.body))
    .map((a) => ({ member: a.member, status: a.answer!.body! }))
  return primaries.sort((a, b) => (b.status.timeline ?? 0) - (a.status.timeline ?? 0))[0]
}

/**
 * Ready: the member runs PostgreSQL under Patroni as the primary, or as a replica that the primary
 * lists as `streaming` in `pg_stat_replication`. With `synchronous`, a replica is ready once the
 * primary has a synchronous standby (it may be another).
 */
export function memberReadyProbe(
  member: PatroniMemberLayout,
  members: readonly PatroniMemberLayout[],
  synchronous: boolean,
): Probe {
  return async (signal) => {
    const own = await patroniGet<PatroniMemberStatus>(member.restUrl, '/patroni', signal)
    if (!own) return { ok: false, detail: `${member.restUrl} does not answer` }
    if (isPrimaryStatus(own.body)) return { ok: true }
    if (own.body?.state !== 'running' || own.body.role !== 'replica') {
      return {
        ok: false,
        detail: `PostgreSQL is ${own.body?.state ?? 'unknown'} (${own.body?.role ?? 'no role'})`,
      }
    }
    const primary = await primaryOf(members, signal)
    if (!primary) return { ok: false, detail: 'a replica, and no primary answers yet' }
    const rows = primary.status.replication ?? []
    if (rows.find((r) => r.application_name === member.name)?.state !== 'streaming') {
      return { ok: false, detail: `a replica, not streaming from ${primary.member.name} yet` }
    }
    if (synchronous && !rows.some((r) => r.sync_state === 'sync')) {
      return { ok: false, detail: `streaming; ${primary.member.name} has no synchronous standby yet` }
    }
    return { ok: true }
  }
}
