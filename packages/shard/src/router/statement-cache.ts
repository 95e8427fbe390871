import type { NamingScope } from '../map/naming-scope.js'
import { parseSqlTemplate } from './sql-template.js'

interface Template {
  readonly parts: readonly string[]
  readonly names: readonly string[]
  /** The rewritten statement per scope: physical names depend only on the scope. */
  readonly byScope: Map<NamingScope, string>
}

/**
 * Rewrites `{name}` tokens to physical names, once per (statement, scope): after the first call a
 * statement costs two map lookups and no scanning. Bounded: past `max` distinct statements (SQL built
 * with inlined values, say) the cache starts over rather than grow without end. @internal
 *
 * @example
 * cache.rewrite('SELECT * FROM {posts} WHERE author_id = $1', location.scope) // 'SELECT * FROM posts_07 …'
 */
export class StatementCache {
  readonly #templates = new Map<string, Template>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  rewrite(sql: string, scope: NamingScope): string {
    const template = this.#template(sql)
    if (template.names.length === 0) return sql
    let out = template.byScope.get(scope)
    if (out === undefined) {
      const { parts, names } = template
      out = parts[0]!
      for (let i = 0; i < names.length; i++) out += scope.physicalName(names[i]!) + parts[i + 1]!
      template.byScope.set(scope, out)
    }
    return out
  }

  /** The logical names a statement's tokens use, in order of appearance (repeats included). */
  names(sql: string): readonly string[] {
    return this.#template(sql).names
  }

  #template(sql: string): Template {
    let template = this.#templates.get(sql)
    if (template === undefined) {
      if (this.#templates.size >= this.#max) this.#templates.clear()
      template = { ...parseSqlTemplate(sql), byScope: new Map() }
      this.#templates.set(sql, template)
    }
    return template
  }
}
