import { ShardError } from '../errors.js'
import type { CompiledTable } from '../map/compiled-table.js'
import type { ShardMap } from '../map/shard-map.js'
import { parseSqlTemplate } from '../router/sql-template.js'

/**
 * One schema change, applied to every physical table of the logical tables its SQL names as
 * `{users}`. It runs in one transaction per database with its records (so no `CREATE INDEX CONCURRENTLY`,
 * `VACUUM` or anything else that refuses a transaction block), and may hold several statements.
 *
 * @example
 * const migrations: Migration[] = [
 *   { name: '001_users', sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text NOT NULL)' },
 *   { name: '002_posts', sql: 'CREATE TABLE {posts} (author_id bigint, post_id bigint, PRIMARY KEY (author_id, post_id))' },
 * ]
 */
export interface Migration {
  /** Unique; what `hf_shard_migrations` records: letters, digits, spaces, `_`, `-`, `.`. */
  readonly name: string
  readonly sql: string
}

// Names are written into the record script as literals: no quotes or backslashes to escape.
const NAME = /^[A-Za-z0-9_. -]{1,200}$/

/** One application of a migration: its SQL for one table index (and period), and what it records. @internal */
export interface MigrationUnit {
  readonly sql: string
  /** The physical tables it creates or changes (`''` for a migration that names none). */
  readonly records: readonly string[]
}

/** What a migration names and so where it applies. @internal */
export interface MigrationShape {
  readonly migration: Migration
  /** The keyed table whose table indexes (and periods) it runs for, or none: once per database. */
  readonly owner: CompiledTable | undefined
  /** Keyed logical tables it names (the owner first), and broadcast ones. */
  readonly keyed: readonly string[]
  readonly broadcast: readonly string[]
  readonly parts: readonly string[]
  readonly names: readonly string[]
}

/**
 * Checks a migration list against a map: names unique, every `{name}` a table of the map, and the
 * keyed tables of one migration either one range table or tables of one binding group (they must
 * meet at the same table index). Bad input fails here, before anything runs. @internal
 */
export function shapeMigrations(map: ShardMap, migrations: readonly Migration[]): MigrationShape[] {
  if (!Array.isArray(migrations)) throw invalid('migrations', 'must be an array of { name, sql }', migrations)
  const seen = new Set<string>()
  return migrations.map((migration, i) => {
    const path = `migrations[${i}]`
    if (typeof migration?.name !== 'string' || !NAME.test(migration.name)) {
      throw invalid(`${path}.name`, 'must be 1 to 200 letters, digits, spaces, _, - or .', migration?.name)
    }
    if (seen.has(migration.name)) throw invalid(`${path}.name`, `repeats ${migration.name}`, migration.name)
    seen.add(migration.name)
    if (typeof migration.sql !== 'string' || migration.sql.trim() === '') {
      throw invalid(`${path}.sql`, 'must be non-empty SQL', migration.sql)
    }
    const { parts, names } = parseSqlTemplate(migration.sql)
    const keyed: CompiledTable[] = []
    const other: string[] = []
    for (const name of new Set(names)) {
      if (name === 'table') {
        throw invalid(
          `${path}.sql`,
          'names {table}: a migration names its tables, e.g. {users}',
          migration.name,
        )
      }
      if (!map.has(name)) {
        throw new ShardError(
          'E_UNKNOWN_TABLE',
          `migration ${migration.name} names {${name}}, not a table of the map`,
          {
            table: name,
            migration: migration.name,
          },
        )
      }
      const compiled = map.compiled(name)
      if (compiled.rule.type === 'broadcast') other.push(name)
      else keyed.push(compiled)
    }
    checkTogether(keyed, migration, path)
    return Object.freeze({
      migration,
      owner: keyed[0],
      keyed: keyed.map((t) => t.name),
      broadcast: other,
      parts,
      names,
    })
  })
}

/** The units of a migration in one database, for the periods given (range owners). @internal */
export function unitsOf(
  shape: MigrationShape,
  databaseIndex: number,
  periods: readonly number[],
): MigrationUnit[] {
  const owner = shape.owner
  if (owner === undefined) {
    // Only broadcast tables (or none): their physical name is their logical one, in every database.
    let sql = shape.parts[0]!
    for (let i = 0; i < shape.names.length; i++) sql += shape.names[i]! + shape.parts[i + 1]!
    return [{ sql, records: shape.broadcast.length === 0 ? [''] : shape.broadcast }]
  }
  if (databaseIndex >= owner.databaseCount) return [] // a keyless range table lives in the first database
  const layers: (number | undefined)[] = owner.rule.type === 'range' ? [...periods] : [undefined]
  const units: MigrationUnit[] = []
  for (const period of layers) {
    for (let t = 0; t < owner.tables; t++) {
      const scope = owner.at(databaseIndex, t, period).scope
      let sql = shape.parts[0]!
      for (let i = 0; i < shape.names.length; i++)
        sql += scope.physicalName(shape.names[i]!) + shape.parts[i + 1]!
      units.push({ sql, records: shape.keyed.map((name) => scope.physicalName(name)) })
    }
  }
  return units
}

function checkTogether(keyed: readonly CompiledTable[], migration: Migration, path: string): void {
  if (keyed.length <= 1) return
  const names = keyed.map((t) => `{${t.name}}`).join(', ')
  if (keyed.some((t) => t.rule.type === 'range')) {
    throw invalid(
      `${path}.sql`,
      `names ${names}: a range table's migration names no other keyed table`,
      migration.name,
    )
  }
  const group = (t: CompiledTable) => (t.rule.type === 'hash' ? t.rule.binding : undefined)
  const first = group(keyed[0]!)
  if (first === undefined || keyed.some((t) => group(t) !== first)) {
    throw invalid(
      `${path}.sql`,
      `names ${names}: the keyed tables of one migration must be of one binding group (they meet at one table index)`,
      migration.name,
    )
  }
}

function invalid(option: string, problem: string, value: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', `${option} ${problem}`, { option, value })
}
