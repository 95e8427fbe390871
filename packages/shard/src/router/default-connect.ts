import {
  type Cluster,
  createCluster,
  type Driver,
  type PoolOptions,
  type RoutingOptions,
} from '@hundredfold/pg'
import type { ShardServer } from '../map/table-rule.js'

/**
 * Opens the cluster of one physical database: the server's primary and replicas with the database's
 * name put into their urls. The default `connect` of a router. `@hundredfold/pg/node-postgres` (and so
 * `pg`, an optional peer) is imported at the first connection rather than here, so this package imports
 * without `pg` for those who bring their own `connect`.
 *
 * @example
 * const router = createShardRouter({ map, connect: pgConnect({ pool: { max: 4 } }) })
 */
export function pgConnect(
  options: { pool?: PoolOptions | undefined; routing?: RoutingOptions | undefined } = {},
): (server: ShardServer, database: string) => Cluster {
  return (server, database) => {
    const primary = lazyPgDriver(databaseUrl(server.primary, database))
    const pool = options.pool ? { pool: options.pool } : {}
    if (server.replicas.length === 0) return createCluster({ driver: primary, ...pool })
    return createCluster({
      primary,
      replicas: server.replicas.map((url) => lazyPgDriver(databaseUrl(url, database))),
      ...pool,
      ...(options.routing ? { routing: options.routing } : {}),
    })
  }
}

/**
 * A server url (`postgres://user@host:port`, maybe with `?options`) with a database name.
 *
 * @example
 * databaseUrl('postgres://app@10.0.0.1:5432', 'app_03') // 'postgres://app@10.0.0.1:5432/app_03'
 */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

type NodePostgres = typeof import('@hundredfold/pg/node-postgres')
let nodePostgres: Promise<NodePostgres> | undefined

/** A `pgDriver` made at its first `connect()`, when node-postgres is loaded. */
function lazyPgDriver(connectionString: string): Driver {
  const url = new URL(connectionString)
  // The label pgDriver would give itself, known before it exists.
  const name = `${url.hostname}:${url.port || '5432'}${url.pathname}`
  let driver: Promise<Driver> | undefined
  const real = () => {
    nodePostgres ??= import('@hundredfold/pg/node-postgres')
    driver ??= nodePostgres.then((m) => m.pgDriver({ connectionString, label: name }))
    return driver
  }
  return {
    name,
    maxConnections: Number.POSITIVE_INFINITY,
    connect: async (signal) => (await real()).connect(signal),
    close: async () => {
      // Never opened, or node-postgres missing (each connect said so): nothing to close.
      if (driver)
        await driver.then(
          (d) => d.close(),
          () => {},
        )
    },
  }
}
