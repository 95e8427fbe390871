/** What {@link toYaml} can write: JSON's values (an `undefined` field is left out). */
export type YamlValue =
  | string
  | number
  | boolean
  | null
  | readonly YamlValue[]
  | { readonly [key: string]: YamlValue | undefined }

// PyYAML (Patroni's parser) reads YAML 1.1, where these bare words are booleans or null.
const reserved = /^(y|n|yes|no|on|off|true|false|null|~)$/i
const plainKey = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/**
 * Block-style YAML for a JSON-like value. Strings are always double-quoted (JSON's escapes are
 * YAML's), so `'on'` stays a string and a path never turns into something else.
 *
 * @example
 * toYaml({ restapi: { listen: '127.0.0.1:8008' }, tags: ['a'] })
 * // restapi:\n  listen: "127.0.0.1:8008"\ntags:\n  - "a"\n
 */
export function toYaml(value: YamlValue): string {
  if (!isBlock(value)) return `${inline(value)}\n`
  const out: string[] = []
  emit(value, 0, out)
  return `${out.join('\n')}\n`
}

function isBlock(value: YamlValue): value is readonly YamlValue[] | { readonly [key: string]: YamlValue } {
  if (value === null || typeof value !== 'object') return false
  return Array.isArray(value) ? value.length > 0 : Object.values(value).some((v) => v !== undefined)
}

function inline(value: YamlValue): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`YAML cannot hold the number ${value}`)
    return String(value)
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  return Array.isArray(value) ? '[]' : '{}'
}

function key(name: string): string {
  return plainKey.test(name) && !reserved.test(name) ? name : JSON.stringify(name)
}

function emit(value: YamlValue, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent)
  if (Array.isArray(value)) {
    for (const item of value as readonly YamlValue[]) {
      if (isBlock(item)) {
        out.push(`${pad}-`)
        emit(item, indent + 2, out)
      } else {
        out.push(`${pad}- ${inline(item)}`)
      }
    }
    return
  }
  for (const [name, item] of Object.entries(value as { readonly [key: string]: YamlValue | undefined })) {
    if (item === undefined) continue
    if (isBlock(item)) {
      out.push(`${pad}${key(name)}:`)
      emit(item, indent + 2, out)
    } else {
      out.push(`${pad}${key(name)}: ${inline(item)}`)
    }
  }
}
