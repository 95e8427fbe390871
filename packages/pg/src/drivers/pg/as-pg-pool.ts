import type pg from 'pg'
import type { Cluster } from '../../cluster.js'
import { type AsPoolOptions, ClusterPool } from '../../cluster-pool.js'
import { Pool } from './pg-client.js'

/**
 * `asPool()` as a real `pg.Pool` subclass: for `@prisma/adapter-pg`, whose `PrismaPg` takes anything
 * that is not `instanceof pg.Pool` for a connection config (and would open its own pool to the
 * default host), and for code typed against `pg.Pool`. Every call goes to a `ClusterPool`; nothing
 * of `pg.Pool`'s own pooling is used, and it opens no connection of its own.
 */
class ClusterPgPool extends Pool {
  constructor(cluster: Cluster, options: AsPoolOptions) {
    super({})
    const facade = new ClusterPool(cluster, options)
    // Own properties shadow pg.Pool's methods; pg.Pool's overloads (callbacks) are not offered.
    Object.assign(this, {
      connect: () => facade.connect(),
      query: (textOrConfig: never, values?: readonly unknown[]) => facade.query(textOrConfig, values),
      end: () => facade.end(),
    })
  }
}

/**
 * A `pg.Pool` over a cluster, routed like `asPool()`: read-only statements where reads go, others to
 * the primary, transaction control refused on `query()` (`E_TRANSACTION_CONTROL`), transactions on
 * one primary session through `connect()`, per-statement `types`/`rowMode`/`name` honoured.
 *
 * @example
 * import { PrismaPg } from '@prisma/adapter-pg'
 * const prisma = new PrismaClient({ adapter: new PrismaPg(asPgPool(cluster)) })
 * const db = drizzle(asPgPool(cluster)) // typed as a pg.Pool: no cast needed
 */
export function asPgPool(cluster: Cluster, options: AsPoolOptions = {}): pg.Pool {
  return new ClusterPgPool(cluster, options)
}
