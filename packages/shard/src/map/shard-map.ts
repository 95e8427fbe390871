import { ShardError } from '../errors.js'
import { CompiledTable } from './compiled-table.js'
import { type ShardHashSql, shardHashSql } from './hash-sql.js'
import type { ShardLocation } from './shard-location.js'
import type { ShardMapDocument, TableRuleDocument } from './shard-map-document.js'
import type { ShardServer, TableRule } from './table-rule.js'
import { type ValidShardMap, validateShardMap } from './validate-shard-map.js'

/** A physical database of a map. */
export interface ShardMapDatabase {
  readonly index: number
  /** E.g. `app_03`. */
  readonly name: string
  readonly server: ShardServer
}

/**
 * A validated shard map, compiled for resolution. Immutable: a change is a new map with a higher
 * `version`, which a router takes with `useMap`. Resolution state (locations, naming scopes) lives
 * in the map, so it is cached once per version.
 *
 * @example
 * const map = parseShardMap(await readFile('shard-map.json', 'utf8'))
 * const where = map.resolve('posts', 42n) // { database: 'app_03', physicalTable: 'posts_07', … }
 */
export class ShardMap {
  readonly version: number
  readonly name: string
  readonly servers: readonly ShardServer[]
  readonly databases: readonly ShardMapDatabase[]
  readonly #valid: ValidShardMap
  readonly #tables = new Map<string, CompiledTable>()

  /** @internal Use `parseShardMap`. */
  constructor(valid: ValidShardMap) {
    this.#valid = valid
    this.version = valid.version
    this.name = valid.name
    this.servers = valid.servers
    this.databases = Object.freeze(
      valid.databaseNames.map((name, index) =>
        Object.freeze({ index, name, server: valid.databaseServers[index]! }),
      ),
    )
    for (const [table, rule] of valid.tables) {
      this.#tables.set(table, new CompiledTable(table, rule, valid))
    }
    Object.freeze(this)
  }

  /** The logical tables, in the order the document lists them. */
  get tableNames(): string[] {
    return [...this.#tables.keys()]
  }

  /** Whether the map defines a logical table. */
  has(table: string): boolean {
    return this.#tables.has(table)
  }

  /** The rule of a logical table, defaults applied. @throws {ShardError} `E_UNKNOWN_TABLE` */
  rule(table: string): TableRule {
    return this.compiled(table).rule
  }

  /**
   * The physical table holding the row of `key` (and, for range tables, the time `rangeValue`;
   * keyless range tables take `undefined` as key).
   *
   * @throws {ShardError} `E_UNKNOWN_TABLE`, `E_NO_SHARD_KEY`
   * @example
   * map.resolve('posts', authorId, createdAt).physicalTable // 'posts_07_202612'
   */
  resolve(table: string, key?: unknown, rangeValue?: unknown): ShardLocation {
    return this.compiled(table).locate(key, rangeValue)
  }

  /**
   * Every physical table of a logical table: each database × table index, and for range tables each
   * of the `periods` given (ordinals, see `periodOf`).
   *
   * @example
   * map.locations('users').length // 16 × 64 = 1024
   */
  locations(table: string, periods?: Iterable<number>): ShardLocation[] {
    return this.compiled(table).locations(periods)
  }

  /**
   * The shard hash of a table's key in SQL, for statements that must agree with the router.
   *
   * @example
   * const { database, table } = map.hashSql('users', 'user_id')
   */
  hashSql(table: string, keyExpression: string): ShardHashSql {
    const compiled = this.compiled(table)
    if (!compiled.keyed) {
      throw new ShardError('E_UNKNOWN_TABLE', `${table} is not spread by a key`, { table })
    }
    return shardHashSql(keyExpression, { databases: this.databases.length, tables: compiled.tables })
  }

  /** The map as a document with every default written out; `parseShardMap(map.toJSON())` is an equal map. */
  toJSON(): ShardMapDocument {
    const valid = this.#valid
    const tables: Record<string, TableRuleDocument> = {}
    for (const [name, rule] of valid.tables) {
      // A keyless range table's `tables: 1` is implied, and the format refuses it written out.
      const implied = rule.type === 'range' && rule.key === undefined ? 'tables' : ''
      tables[name] = Object.fromEntries(
        Object.entries(rule).filter(([field, v]) => v !== undefined && field !== implied),
      ) as TableRuleDocument
    }
    return {
      version: valid.version,
      name: valid.name,
      servers: Object.fromEntries(
        valid.servers.map((s) => [s.name, { primary: s.primary, replicas: [...s.replicas] }]),
      ),
      databases: {
        count: valid.databaseNames.length,
        name: valid.databaseNamePattern,
        servers: valid.explicitServers ? valid.databaseServers.map((s) => s.name) : 'round-robin',
      },
      tables,
    }
  }

  /** @internal */
  compiled(table: string): CompiledTable {
    const compiled = this.#tables.get(table)
    if (compiled === undefined) {
      throw new ShardError(
        'E_UNKNOWN_TABLE',
        `${table} is not a table of shard map ${this.name} v${this.version}`,
        {
          table,
        },
      )
    }
    return compiled
  }
}

/**
 * Validates a shard map document (JSON text or a parsed value), applies its defaults and compiles it.
 *
 * @throws {ShardError} `E_INVALID_MAP` whose `path` names the offending field (`tables.posts.key`).
 * @example
 * const map = parseShardMap({
 *   version: 1, name: 'app',
 *   servers: { a: { primary: 'postgres://app@10.0.0.1:5432' } },
 *   tables: { users: { type: 'hash', key: 'user_id' } },
 * })
 */
export function parseShardMap(json: string | ShardMapDocument | unknown): ShardMap {
  if (json instanceof ShardMap) return json
  let value = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (err) {
      throw new ShardError(
        'E_INVALID_MAP',
        `the shard map is not JSON: ${(err as Error).message}`,
        { path: '' },
        {
          cause: err,
        },
      )
    }
  }
  return new ShardMap(validateShardMap(value))
}
