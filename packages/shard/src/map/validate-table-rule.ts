import { shardMapDefaults } from './map-defaults.js'
import { identifier, integer, invalid, known, optionalIdentifier, tableCount } from './map-fields.js'
import type { RangeInterval } from './shard-map-document.js'
import type { TableRule } from './table-rule.js'

const INTERVALS: readonly RangeInterval[] = ['year', 'month', 'week', 'day']

/** Checks one table's rule and applies its defaults; throws `E_INVALID_MAP` naming the field. @internal */
export function validateRule(rule: Record<string, unknown>, path: string): TableRule {
  const type = rule['type']
  if (type === 'hash') {
    known(rule, path, ['type', 'key', 'tables', 'binding'])
    return Object.freeze({
      type,
      key: identifier(rule['key'], `${path}.key`),
      tables: tableCount(rule['tables'], `${path}.tables`),
      binding: optionalIdentifier(rule['binding'], `${path}.binding`),
    })
  }
  if (type === 'range') {
    known(rule, path, ['type', 'key', 'rangeColumn', 'interval', 'ahead', 'from', 'tables', 'binding'])
    const key = optionalIdentifier(rule['key'], `${path}.key`)
    const interval = rule['interval']
    if (!INTERVALS.includes(interval as RangeInterval)) {
      throw invalid(`${path}.interval`, `must be one of ${INTERVALS.join(', ')}`, interval)
    }
    const from = rule['from']
    if (from !== undefined && (typeof from !== 'string' || !Number.isFinite(Date.parse(from)))) {
      throw invalid(`${path}.from`, 'must be an ISO date such as 2026-01-01', from)
    }
    if (key === undefined) {
      for (const field of ['tables', 'binding']) {
        if (rule[field] !== undefined)
          throw invalid(`${path}.${field}`, 'is only for a range rule with a key', rule[field])
      }
    }
    const rangeColumn = identifier(rule['rangeColumn'], `${path}.rangeColumn`)
    const ahead = integer(rule['ahead'] ?? shardMapDefaults.ahead, `${path}.ahead`, 0, 1000)
    return Object.freeze({
      type,
      key,
      rangeColumn,
      interval: interval as RangeInterval,
      ahead,
      from: from as string | undefined,
      tables: key === undefined ? 1 : tableCount(rule['tables'], `${path}.tables`),
      binding: key === undefined ? undefined : optionalIdentifier(rule['binding'], `${path}.binding`),
    })
  }
  if (type === 'lookup') {
    known(rule, path, ['type', 'key', 'value', 'target', 'tables'])
    const key = identifier(rule['key'], `${path}.key`)
    const value = identifier(rule['value'], `${path}.value`)
    if (value === key) throw invalid(`${path}.value`, 'must differ from key', value)
    const target = rule['target']
    if (typeof target !== 'string') throw invalid(`${path}.target`, 'must name a table of tables', target)
    return Object.freeze({ type, key, value, target, tables: tableCount(rule['tables'], `${path}.tables`) })
  }
  if (type === 'broadcast') {
    known(rule, path, ['type'])
    return Object.freeze({ type })
  }
  throw invalid(`${path}.type`, "must be 'hash', 'range', 'lookup' or 'broadcast'", type)
}
