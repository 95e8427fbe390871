import { ShardError } from '../errors.js'
import { shardMapDefaults } from './map-defaults.js'

// The field checks of the map format: each names the JSON path it rejects.

/** A lowercase identifier: safe unquoted in SQL. @internal */
export const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

/** A physical table count (default 64), 1 to 9999. @internal */
export function tableCount(value: unknown, path: string): number {
  return integer(value ?? shardMapDefaults.tables, path, 1, 9999)
}

/** A JSON object (not an array, not null). @internal */
export function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, 'must be an object', value)
  }
  return value as Record<string, unknown>
}

/** Refuses fields the format does not have: a typo is an error, not a silent default. @internal */
export function known(value: Record<string, unknown>, path: string, fields: readonly string[]): void {
  for (const field of Object.keys(value)) {
    if (!fields.includes(field)) {
      throw invalid(
        path === '' ? field : `${path}.${field}`,
        `is not a field of this object (${fields.join(', ')})`,
        field,
      )
    }
  }
}

/** An integer within bounds. @internal */
export function integer(value: unknown, path: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(path, `must be an integer from ${min} to ${max}`, value)
  }
  return value as number
}

/** A lowercase identifier of at most 63 characters. @internal */
export function identifier(value: unknown, path: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > 63) {
    throw invalid(path, 'must be a lowercase identifier ([a-z_][a-z0-9_]*)', value)
  }
  return value
}

/** An identifier, or absent. @internal */
export function optionalIdentifier(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : identifier(value, path)
}

/** The `E_INVALID_MAP` error for a field. @internal */
export function invalid(path: string, problem: string, value: unknown): ShardError {
  const where = path === '' ? 'the shard map' : path
  return new ShardError('E_INVALID_MAP', `${where} ${problem}`, { path, value })
}
