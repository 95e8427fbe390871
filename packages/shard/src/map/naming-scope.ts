import { ShardError } from '../errors.js'
import type { TableRule } from './table-rule.js'

/**
 * What `{name}` tokens mean in a statement sent to one physical table: the table itself, tables of its
 * binding group at the same table index (same key → same database and index), and broadcast tables
 * (a copy is in every database). Anything else lives elsewhere and is refused. `{table}` is the
 * statement's own table. Physical names do not depend on the database, so one scope serves a table index
 * (and period) in every database, and a rewritten statement is cached once for all of them.
 *
 * @example
 * scope.physicalName('posts') // 'posts_07' in the scope of users_07 when both are in binding group user
 */
export class NamingScope {
  /** The statement's own physical table; distinguishes scopes in prepared-statement names. */
  readonly id: string
  readonly #owner: string
  readonly #ownerPhysical: string
  readonly #group: string | undefined
  readonly #suffix: string
  readonly #rules: ReadonlyMap<string, TableRule>
  readonly #names = new Map<string, string>()

  /** @internal */
  constructor(rules: ReadonlyMap<string, TableRule>, owner: string, ownerPhysical: string, suffix: string) {
    const rule = rules.get(owner)
    this.#rules = rules
    this.#owner = owner
    this.#ownerPhysical = ownerPhysical
    this.#group = rule && (rule.type === 'hash' || rule.type === 'range') ? rule.binding : undefined
    this.#suffix = suffix
    this.id = ownerPhysical
  }

  /**
   * The physical name of a logical table named in a statement of this scope.
   *
   * @throws {ShardError} `E_UNKNOWN_TABLE` (not in the map), `E_CROSS_SHARD` (placed by its own key),
   * `E_NO_SHARD_KEY` (a range table of the group, which needs its own range value).
   */
  physicalName(name: string): string {
    let physical = this.#names.get(name)
    if (physical === undefined) {
      physical = this.#resolve(name)
      this.#names.set(name, physical)
    }
    return physical
  }

  #resolve(name: string): string {
    if (name === 'table' || name === this.#owner) return this.#ownerPhysical
    const rule = this.#rules.get(name)
    if (rule === undefined) {
      throw new ShardError('E_UNKNOWN_TABLE', `{${name}} is not a table of the shard map`, { table: name })
    }
    if (rule.type === 'broadcast') return name
    const bound =
      this.#group !== undefined &&
      (rule.type === 'hash' || rule.type === 'range') &&
      rule.binding === this.#group
    if (bound && rule.type === 'hash') return name + this.#suffix
    if (bound) {
      throw new ShardError(
        'E_NO_SHARD_KEY',
        `{${name}} is a range table: name it through router.shard('${name}', key, time), which picks its period`,
        { table: name },
      )
    }
    throw new ShardError(
      'E_CROSS_SHARD',
      `{${name}} is not bound to ${this.#owner}: its rows are placed by their own key, maybe on another shard; use router.shard('${name}', key)`,
      { table: name, boundTo: this.#ownerPhysical, requested: name },
    )
  }
}
