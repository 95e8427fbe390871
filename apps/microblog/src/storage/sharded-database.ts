import { hostname } from 'node:os'
import { type Cluster, createCluster } from '@hundredfold/pg'
import {
  createShardRouter,
  databaseUrl,
  loadShardMap,
  loadShardMapFile,
  migrate,
  ShardError,
  type ShardMap,
  saveShardMap,
  watchShardMap,
} from '@hundredfold/shard'
import type { MicroblogConfig } from '../config.js'
import { type Database, StartupError } from './database.js'
import { shardMigrations } from './schema.js'
import { layoutProblems } from './shard-layout.js'
import { shardedStore } from './sharded-store.js'

/**
 * Opens the shards of the map at `path`: creates its missing databases and applies the schema to every
 * physical table (`@hundredfold/shard`'s migrations: recorded per shard, resumable, safe to run from
 * every process at once), stores the map in database 0 if none is stored, then follows the stored map
 * and its switches (`watchShardMap`), so a resharding's cutover reaches this process without a restart.
 */
export async function openShardedDatabase(
  config: MicroblogConfig,
  path: string,
  signal?: AbortSignal,
): Promise<Database> {
  const map = await readMap(path, signal)
  const { pgDriver } = await import('@hundredfold/pg/node-postgres')
  const driver = (url: string) =>
    pgDriver({ connectionString: url, statementTimeoutMs: config.dbStatementTimeoutMs })
  const pool = { max: config.shardPoolMax }
  const router = createShardRouter({
    map,
    connect: (server, database) =>
      server.replicas.length === 0
        ? createCluster({ driver: driver(databaseUrl(server.primary, database)), pool })
        : createCluster({
            primary: driver(databaseUrl(server.primary, database)),
            replicas: server.replicas.map((url) => driver(databaseUrl(url, database))),
            pool,
            routing: { maxLagMs: config.maxLagMs },
          }),
  })
  try {
    await migrate(router, shardMigrations('postgis'), { ...(signal ? { signal } : {}), concurrency: 4 })
    await seedStoredMap(router.cluster(0), map, signal)
    const watch = await watchShardMap(router, {
      name: `microblog@${hostname()}:${process.pid}`,
      ...(signal ? { signal } : {}),
    })
    const servers = new Set(map.databases.map((d) => d.server.name)).size
    return {
      store: shardedStore(router),
      cluster: router.cluster(0),
      geo: 'postgis',
      description: `shards ${map.name}: ${map.databases.length} databases on ${servers} server${servers === 1 ? '' : 's'}`,
      end: async () => {
        await watch.stop()
        await router.end()
      },
    }
  } catch (err) {
    await router.end()
    throw err
  }
}

/**
 * The file's map is stored in `hf_shard_map` of database 0 when none is: from then on the stored
 * newest map is the one in use (a resharding's cutover stores the next), and `watchShardMap` takes
 * this router there.
 */
async function seedStoredMap(control: Cluster, map: ShardMap, signal?: AbortSignal): Promise<void> {
  const options = signal ? { signal } : {}
  try {
    await loadShardMap(control, options)
    return
  } catch (err) {
    if (!(err instanceof ShardError && err.code === 'E_INVALID_MAP' && err.path === '')) throw err
  }
  try {
    await saveShardMap(control, map, options)
  } catch (err) {
    // Another process stored one meanwhile.
    if (!(err instanceof ShardError && err.code === 'E_INVALID_MAP' && err.path === 'version')) throw err
  }
}

async function readMap(path: string, signal?: AbortSignal): Promise<ShardMap> {
  let map: ShardMap
  try {
    map = await loadShardMapFile(path, signal ? { signal } : {})
  } catch (err) {
    const where =
      err instanceof ShardError && err.path !== undefined ? ` at ${err.path || 'the document'}` : ''
    throw new StartupError('E_SHARD_MAP', `HF_SHARD_MAP ${path}${where}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const problems = layoutProblems(map)
  if (problems.length > 0) {
    throw new StartupError(
      'E_SHARD_MAP',
      `HF_SHARD_MAP ${path} does not fit the microblog: ${problems.join('; ')}`,
    )
  }
  return map
}
