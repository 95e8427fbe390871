import { shardMapDefaults } from './map-defaults.js'
import { IDENTIFIER, identifier, integer, invalid, known, object } from './map-fields.js'
import type { ShardServer, TableRule } from './table-rule.js'
import { validateRule } from './validate-table-rule.js'

const SERVER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/
/** The longest suffix a physical name gets: `_` + table index (up to 4 digits) + `_` + a day (8 digits). */
const MAX_SUFFIX = 1 + 4 + 1 + 8

/** A validated map with every default applied. @internal */
export interface ValidShardMap {
  readonly version: number
  readonly name: string
  readonly servers: readonly ShardServer[]
  readonly databaseNamePattern: string
  readonly databaseNames: readonly string[]
  /** The server of each database, by index. */
  readonly databaseServers: readonly ShardServer[]
  /** Whether `databases.servers` was written as a list (kept so the document round-trips). */
  readonly explicitServers: boolean
  readonly tables: ReadonlyMap<string, TableRule>
}

/** Checks a parsed JSON value against the map format; throws `E_INVALID_MAP` naming the field. @internal */
export function validateShardMap(input: unknown): ValidShardMap {
  const root = object(input, '')
  known(root, '', ['version', 'name', 'servers', 'databases', 'tables'])
  const version = integer(root['version'], 'version', 1, Number.MAX_SAFE_INTEGER)
  const name = identifier(root['name'], 'name')
  const servers = validateServers(root['servers'])
  const databases = root['databases'] === undefined ? {} : object(root['databases'], 'databases')
  known(databases, 'databases', ['count', 'name', 'servers'])
  const count = integer(databases['count'] ?? shardMapDefaults.databases, 'databases.count', 1, 9999)
  const pattern = databases['name'] ?? shardMapDefaults.databaseName
  if (typeof pattern !== 'string' || !pattern.includes('<dd>')) {
    throw invalid('databases.name', 'must be a string containing <dd> (the database index)', pattern)
  }
  const width = Math.max(2, String(count - 1).length)
  const databaseNames = Array.from({ length: count }, (_, i) =>
    pattern.replaceAll('<name>', name).replaceAll('<dd>', String(i).padStart(width, '0')),
  )
  for (const databaseName of databaseNames) {
    if (!IDENTIFIER.test(databaseName) || databaseName.length > 63) {
      throw invalid(
        'databases.name',
        `makes ${databaseName}, not a lowercase identifier of at most 63 characters`,
        pattern,
      )
    }
  }
  const byName = new Map(servers.map((s) => [s.name, s]))
  const assign = databases['servers'] ?? shardMapDefaults.databaseServers
  let databaseServers: ShardServer[]
  if (assign === 'round-robin') {
    databaseServers = databaseNames.map((_, i) => servers[i % servers.length]!)
  } else if (Array.isArray(assign)) {
    if (assign.length !== count) {
      throw invalid(
        'databases.servers',
        `must name one server per database (${count}), not ${assign.length}`,
        assign,
      )
    }
    databaseServers = assign.map((serverName: unknown, i) => {
      const server = typeof serverName === 'string' ? byName.get(serverName) : undefined
      if (!server) throw invalid(`databases.servers[${i}]`, 'must name a server of servers', serverName)
      return server
    })
  } else {
    throw invalid('databases.servers', "must be 'round-robin' or an array of server names", assign)
  }
  return Object.freeze({
    version,
    name,
    servers,
    databaseNamePattern: pattern,
    databaseNames: Object.freeze(databaseNames),
    databaseServers: Object.freeze(databaseServers),
    explicitServers: Array.isArray(assign),
    tables: validateTables(root['tables']),
  })
}

function validateServers(value: unknown): ShardServer[] {
  const servers = object(value, 'servers')
  const names = Object.keys(servers)
  if (names.length === 0) throw invalid('servers', 'must name at least one server', value)
  return names.map((serverName) => {
    const path = `servers.${serverName}`
    if (!SERVER_NAME.test(serverName))
      throw invalid(path, 'a server name is letters, digits, _ and -', serverName)
    const server = object(servers[serverName], path)
    known(server, path, ['primary', 'replicas'])
    const replicas = server['replicas'] ?? []
    if (!Array.isArray(replicas)) throw invalid(`${path}.replicas`, 'must be an array of urls', replicas)
    return Object.freeze({
      name: serverName,
      primary: serverUrl(server['primary'], `${path}.primary`),
      replicas: Object.freeze(replicas.map((url: unknown, i) => serverUrl(url, `${path}.replicas[${i}]`))),
    })
  })
}

function validateTables(value: unknown): ReadonlyMap<string, TableRule> {
  const tables = object(value, 'tables')
  const rules = new Map<string, TableRule>()
  for (const [table, ruleValue] of Object.entries(tables)) {
    const path = `tables.${table}`
    if (!IDENTIFIER.test(table) || table === 'table' || table.startsWith('hf_')) {
      throw invalid(
        path,
        "a table name is a lowercase identifier, not 'table' and not starting with hf_",
        table,
      )
    }
    if (table.length + MAX_SUFFIX > 63)
      throw invalid(path, 'is too long for its physical names (63 characters)', table)
    rules.set(table, validateRule(object(ruleValue, path), path))
  }
  if (rules.size === 0) throw invalid('tables', 'must define at least one table', value)
  for (const table of rules.keys()) {
    for (const other of rules.keys()) {
      // `posts` makes posts_01; a table named posts_01 would collide with it.
      if (other.startsWith(`${table}_`) && /^\d/.test(other.slice(table.length + 1))) {
        throw invalid(
          `tables.${other}`,
          `collides with the physical tables of ${table} (${table}_<index>)`,
          other,
        )
      }
    }
  }
  checkBindings(rules)
  for (const [table, rule] of rules) {
    if (rule.type !== 'lookup') continue
    const target = rules.get(rule.target)
    if (!target || !(target.type === 'hash' || (target.type === 'range' && target.key !== undefined))) {
      throw invalid(
        `tables.${table}.target`,
        'must name a hash table or a range table with a key',
        rule.target,
      )
    }
  }
  return rules
}

/** Tables of one binding group land alike only if they share the table count. */
function checkBindings(rules: ReadonlyMap<string, TableRule>): void {
  const first = new Map<string, { table: string; tables: number }>()
  for (const [table, rule] of rules) {
    if ((rule.type !== 'hash' && rule.type !== 'range') || rule.binding === undefined) continue
    const seen = first.get(rule.binding)
    if (!seen) first.set(rule.binding, { table, tables: rule.tables })
    else if (seen.tables !== rule.tables) {
      throw invalid(
        `tables.${table}.tables`,
        `must equal tables.${seen.table}.tables (${seen.tables}): tables of binding group ${rule.binding} land together only with the same table count`,
        rule.tables,
      )
    }
  }
}

function serverUrl(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalid(path, 'must be a postgres:// url', value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid(path, 'must be a postgres:// url', value)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid(path, 'must be a postgres:// or postgresql:// url', value)
  }
  if (url.pathname !== '' && url.pathname !== '/') {
    throw invalid(path, 'must not name a database: the map names the databases it puts on the server', value)
  }
  return value
}
