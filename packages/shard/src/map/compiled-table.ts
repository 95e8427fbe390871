import { hash } from 'node:crypto'
import { ShardError } from '../errors.js'
import { parsePeriodName, periodName, periodOf, rangeMs } from '../range/period.js'
import { NamingScope } from './naming-scope.js'
import { shardKeyText } from './shard-hash.js'
import type { ShardLocation } from './shard-location.js'
import type { ShardServer, TableRule } from './table-rule.js'

/** What a table needs to know of its map. @internal */
export interface MapLayout {
  readonly databaseNames: readonly string[]
  readonly databaseServers: readonly ShardServer[]
  readonly tables: ReadonlyMap<string, TableRule>
}

/** Beyond this many periods seen, locations of further periods are made per call rather than kept. */
const MAX_CACHED_PERIODS = 10_000

interface Layer {
  readonly locations: (ShardLocation | undefined)[]
  readonly scopes: (NamingScope | undefined)[]
  readonly period: number | undefined
  readonly periodName: string | undefined
}

/**
 * One logical table of a parsed map, compiled for resolution: the hash of a key picks an index into
 * locations made on first use and kept for the life of the map, so the hot path is one md5 and two
 * array reads. @internal
 */
export class CompiledTable {
  readonly name: string
  readonly rule: TableRule
  /** Physical tables per database (and period): 1 for broadcast and keyless range tables. */
  readonly tables: number
  readonly #layout: MapLayout
  readonly #databases: number
  readonly #suffixes: readonly string[]
  /** Non-range tables: one layer. Range tables: one per period. */
  readonly #flat: Layer | undefined
  readonly #periods = new Map<number, Layer>()

  constructor(name: string, rule: TableRule, layout: MapLayout) {
    this.name = name
    this.rule = rule
    this.#layout = layout
    this.#databases = layout.databaseNames.length
    this.tables = rule.type === 'broadcast' ? 1 : rule.tables
    const width = Math.max(2, String(this.tables - 1).length)
    const spread =
      rule.type === 'hash' || rule.type === 'lookup' || (rule.type === 'range' && rule.key !== undefined)
    this.#suffixes = Array.from({ length: this.tables }, (_, i) =>
      spread ? `_${String(i).padStart(width, '0')}` : '',
    )
    this.#flat = rule.type === 'range' ? undefined : this.#layer(undefined)
  }

  /** Whether rows are spread by a key (hash, lookup, range with a key). */
  get keyed(): boolean {
    return this.rule.type !== 'broadcast' && !(this.rule.type === 'range' && this.rule.key === undefined)
  }

  /** The databases this table has physical tables in: all, or the first for a keyless range table. */
  get databaseCount(): number {
    return this.keyed || this.rule.type === 'broadcast' ? this.#databases : 1
  }

  /** Where the row of `key` (and, for range tables, the time `rangeValue`) lives. */
  locate(key: unknown, rangeValue?: unknown): ShardLocation {
    const rule = this.rule
    if (rule.type === 'broadcast') {
      throw new ShardError(
        'E_UNKNOWN_TABLE',
        `${this.name} is a broadcast table, in every database: use router.broadcast('${this.name}')`,
        { table: this.name },
      )
    }
    let period: number | undefined
    if (rule.type === 'range') {
      const ms = rangeMs(rangeValue)
      if (ms === undefined) {
        throw new ShardError(
          'E_NO_SHARD_KEY',
          `${this.name} is a range table: give the time of its ${rule.rangeColumn} (a Date, ms or an ISO string)`,
          { table: this.name, value: rangeValue },
        )
      }
      period = periodOf(rule.interval, ms)
      if (rule.key === undefined) return this.at(0, 0, period)
    }
    if (key === undefined || key === null) {
      throw new ShardError(
        'E_NO_SHARD_KEY',
        `${this.name} is sharded by ${keyColumn(rule)}: give its value`,
        {
          table: this.name,
          value: key,
        },
      )
    }
    const digest = hash('md5', shardKeyText(key), 'buffer')
    return this.at(digest.readUInt32BE(4) % this.#databases, digest.readUInt32BE(0) % this.tables, period)
  }

  /** The location at a database and table index (and period, for range tables). */
  at(databaseIndex: number, tableIndex: number, period?: number): ShardLocation {
    const layer = period === undefined ? this.#flat! : this.#periodLayer(period)
    const slot = databaseIndex * this.tables + tableIndex
    let location = layer.locations[slot]
    if (location === undefined) {
      location = this.#make(layer, databaseIndex, tableIndex)
      layer.locations[slot] = location
    }
    return location
  }

  /** Every physical table: each database × table index, of each period given (range tables). */
  locations(periods: Iterable<number> = []): ShardLocation[] {
    const out: ShardLocation[] = []
    const layers: (number | undefined)[] = this.rule.type === 'range' ? [...periods] : [undefined]
    for (const period of layers) {
      for (let d = 0; d < this.databaseCount; d++) {
        for (let t = 0; t < this.tables; t++) out.push(this.at(d, t, period))
      }
    }
    return out
  }

  /** The physical name at a table index (and period). */
  physicalName(tableIndex: number, period?: number): string {
    const base = this.name + this.#suffixes[tableIndex]!
    if (period === undefined || this.rule.type !== 'range') return base
    return `${base}_${periodName(this.rule.interval, period)}`
  }

  /** The period of one of this range table's physical names (`posts_07_202612` → its ordinal), else `undefined`. */
  periodOfPhysical(physicalTable: string): number | undefined {
    const rule = this.rule
    if (rule.type !== 'range' || !physicalTable.startsWith(`${this.name}_`)) return undefined
    const rest = physicalTable.slice(this.name.length + 1)
    const cut = rest.lastIndexOf('_')
    const name = rest.slice(cut + 1)
    const index = cut === -1 ? '' : `_${rest.slice(0, cut)}`
    if (cut === -1 ? rule.key !== undefined : !this.#suffixes.includes(index)) return undefined
    return parsePeriodName(rule.interval, name)
  }

  #periodLayer(period: number): Layer {
    if (this.rule.type !== 'range') return this.#flat!
    let layer = this.#periods.get(period)
    if (layer === undefined) {
      layer = this.#layer(period)
      if (this.#periods.size < MAX_CACHED_PERIODS) this.#periods.set(period, layer)
    }
    return layer
  }

  #layer(period: number | undefined): Layer {
    const slots = this.databaseCount * this.tables
    return {
      locations: new Array<ShardLocation | undefined>(slots).fill(undefined),
      scopes: new Array<NamingScope | undefined>(this.tables).fill(undefined),
      period,
      periodName:
        period === undefined || this.rule.type !== 'range'
          ? undefined
          : periodName(this.rule.interval, period),
    }
  }

  #make(layer: Layer, databaseIndex: number, tableIndex: number): ShardLocation {
    const physicalTable = this.physicalName(tableIndex, layer.period)
    let scope = layer.scopes[tableIndex]
    if (scope === undefined) {
      scope = new NamingScope(this.#layout.tables, this.name, physicalTable, this.#suffixes[tableIndex]!)
      layer.scopes[tableIndex] = scope
    }
    const database = this.#layout.databaseNames[databaseIndex]!
    return Object.freeze({
      table: this.name,
      physicalTable,
      database,
      databaseIndex,
      tableIndex,
      server: this.#layout.databaseServers[databaseIndex]!,
      period: layer.period,
      periodName: layer.periodName,
      label: `${database}.${physicalTable}`,
      scope,
    })
  }
}

function keyColumn(rule: TableRule): string {
  return rule.type === 'broadcast' ? '' : (rule.key ?? '')
}
