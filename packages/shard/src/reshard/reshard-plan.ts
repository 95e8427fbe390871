import { ShardError } from '../errors.js'
import { parseShardMap, type ShardMap } from '../map/shard-map.js'
import type { ShardMapDocument, ShardServerDocument } from '../map/shard-map-document.js'
import { databaseUrl } from '../router/default-connect.js'

/** One source database and the new database that takes half of its rows. */
export interface ReshardPair {
  readonly source: ReshardDatabase
  readonly target: ReshardDatabase
}

/** A physical database of a resharding: its index in its map, name, server and urls. */
export interface ReshardDatabase {
  readonly index: number
  readonly name: string
  readonly server: string
  /** `postgres://…/<name>`. */
  readonly url: string
  /** `postgres://…/postgres` of its server, where the database is created. */
  readonly serverUrl: string
}

/** What `planDoubling` decides; stored as JSON with the resharding's state. */
export interface ReshardPlan {
  /** Names the publications, slots and subscriptions of this resharding: `hf_rs_<id>_<dd>`. */
  readonly id: string
  readonly from: ShardMapDocument
  readonly to: ShardMapDocument
  readonly pairs: readonly ReshardPair[]
}

/** Options of {@link planDoubling}. */
export interface PlanDoublingOptions {
  /**
   * Servers for the new half, by name (added to the map; existing names may be listed too). The new
   * databases go to them round-robin. @default the servers of the source databases (each new database on its source's server)
   */
  servers?: Record<string, ShardServerDocument>
  /** @default `v<from.version>to<to.version>` */
  id?: string
}

/**
 * Doubles the databases of a map (16 → 32): database `d` keeps the rows whose hash gives `d` at the new
 * count and hands those giving `d + n` to a new database `d + n`. A row never changes its table index
 * (`hi % tables` does not involve the database count), so physical table names stay as they are.
 *
 * @example
 * const plan = planDoubling(map, { servers: { c: { primary: 'postgres://app@10.0.0.3:5432' } } })
 * plan.pairs[3] // { source: app_03, target: app_19 }
 */
export function planDoubling(from: ShardMap, options: PlanDoublingOptions = {}): ReshardPlan {
  const document = from.toJSON()
  const n = from.databases.length
  const added = options.servers ?? {}
  for (const [name, server] of Object.entries(added)) {
    const known = document.servers[name]
    if (known && known.primary !== server.primary) {
      throw new ShardError('E_INVALID_OPTION', `server ${name} is in the map already with another primary`, {
        option: `options.servers.${name}`,
        value: server.primary,
      })
    }
  }
  const newServers = Object.keys(added)
  const assignment = from.databases.map((d) => d.server.name)
  for (let d = 0; d < n; d++) {
    assignment.push(newServers.length > 0 ? newServers[d % newServers.length]! : assignment[d]!)
  }
  const to = parseShardMap({
    ...document,
    version: from.version + 1,
    servers: { ...document.servers, ...added },
    databases: { ...document.databases, count: 2 * n, servers: assignment },
  })
  for (const d of from.databases) {
    if (to.databases[d.index]!.name !== d.name) {
      throw new ShardError(
        'E_INVALID_MAP',
        `doubling would rename database ${d.name} to ${to.databases[d.index]!.name} (the name pattern pads to the count's width)`,
        { path: 'databases.name' },
      )
    }
  }
  const id = options.id ?? `v${from.version}to${to.version}`
  if (!/^[a-z0-9_]{1,40}$/.test(id)) {
    throw new ShardError('E_INVALID_OPTION', 'options.id must be 1-40 lowercase letters, digits or _', {
      option: 'options.id',
      value: id,
    })
  }
  const database = (map: ShardMap, index: number): ReshardDatabase => {
    const d = map.databases[index]!
    return {
      index,
      name: d.name,
      server: d.server.name,
      url: databaseUrl(d.server.primary, d.name),
      serverUrl: databaseUrl(d.server.primary, 'postgres'),
    }
  }
  const pairs = from.databases.map((d) => ({
    source: database(from, d.index),
    target: database(to, d.index + n),
  }))
  for (const pair of pairs) {
    if (pair.target.name === pair.source.name && pair.target.server === pair.source.server) {
      throw new ShardError('E_INVALID_MAP', `the new database ${pair.target.name} would be the old one`, {
        path: 'databases.name',
      })
    }
  }
  for (const pair of pairs) {
    if (Buffer.byteLength(`hf_rsr_${id}_${pair.source.name}`) > 63) {
      throw new ShardError(
        'E_INVALID_OPTION',
        `options.id is too long for the replication slots of ${pair.source.name}`,
        {
          option: 'options.id',
          value: id,
        },
      )
    }
  }
  return { id, from: document, to: to.toJSON(), pairs }
}
