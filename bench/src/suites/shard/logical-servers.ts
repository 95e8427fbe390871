import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'

/**
 * What a doubling of 16 databases needs of each server (as `test/reshard.test.ts` sets it, scaled):
 * a slot and a walsender per subscription plus two table-sync workers each, room for the routers'
 * pools and the resharding's administrative sessions, and the launcher starting workers every 200 ms
 * instead of every 5 s.
 */
export const LOGICAL_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  max_connections: '300',
  max_replication_slots: '80',
  max_wal_senders: '80',
  max_logical_replication_workers: '60',
  max_worker_processes: '80',
  wal_retrieve_retry_interval: '200ms',
})

/** Two PostgreSQL 15 servers with `wal_level = logical`: the sources' and the new half's. */
export interface LogicalServers {
  readonly sources: ReplicaSet
  readonly targets: ReplicaSet
  destroy(): Promise<void>
}

/**
 * Starts both servers (`startReplicaSet`, no replicas, own ports, `fsync = off`); if either fails,
 * the other is stopped before the error is thrown.
 */
export async function startLogicalServers(): Promise<LogicalServers> {
  const start = () => startReplicaSet({ replicas: 0, walLevel: 'logical', settings: LOGICAL_SETTINGS })
  const [sources, targets] = await Promise.allSettled([start(), start()])
  if (sources.status === 'rejected' || targets.status === 'rejected') {
    await Promise.all(
      [sources, targets].map((s) => (s.status === 'fulfilled' ? s.value.destroy() : undefined)),
    )
    throw sources.status === 'rejected' ? sources.reason : (targets as PromiseRejectedResult).reason
  }
  return {
    sources: sources.value,
    targets: targets.value,
    destroy: async () => {
      await Promise.all([sources.value.destroy(), targets.value.destroy()])
    },
  }
}
