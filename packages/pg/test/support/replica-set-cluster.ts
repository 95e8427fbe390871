import { pgDriver } from '../../src/drivers/pg/index.js'
import { type Cluster, type ClusterOptions, createCluster } from '../../src/index.js'
import type { ReplicaSet } from '../../src/testing/index.js'

/** A cluster over a replica set: node-postgres drivers labelled `primary` and by each replica's name. */
export function replicaSetCluster(
  set: ReplicaSet,
  options: Pick<ClusterOptions, 'pool' | 'routing'> = {},
): Cluster {
  return createCluster({
    primary: pgDriver({ connectionString: set.primary.url, label: 'primary' }),
    replicas: set.replicas.map((r) => pgDriver({ connectionString: r.url, label: r.name })),
    ...options,
  })
}

/** How many reads the cluster's replicas have served. */
export function replicaReads(cluster: Cluster): number {
  return cluster
    .stats()
    .hosts.filter((h) => h.role === 'replica')
    .reduce((n, h) => n + h.reads, 0)
}
