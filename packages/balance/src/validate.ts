import type { DiscoveredEndpoint } from './discovery/discovery.js'
import { invalidOption } from './errors.js'

/** Checks a list of origins, naming the bad entry. @internal */
export function checkEndpoints(
  list: readonly (string | DiscoveredEndpoint)[],
  option = 'options.endpoints',
): DiscoveredEndpoint[] {
  if (!Array.isArray(list)) throw invalidOption(option, 'must be an array of origins', list)
  return list.map((entry, i) => {
    const item = typeof entry === 'string' ? { origin: entry } : entry
    const origin = normalizeOrigin(item?.origin)
    if (origin === undefined) {
      throw invalidOption(`${option}[${i}]`, 'must be an http(s) origin like http://10.0.0.1:8080', entry)
    }
    const weight = item.weight ?? 1
    if (!(typeof weight === 'number' && weight > 0 && Number.isFinite(weight))) {
      throw invalidOption(`${option}[${i}].weight`, 'must be a positive number', weight)
    }
    return { origin, weight }
  })
}

/** `http://host:port` of a URL string, or `undefined` if it is not an http(s) URL. @internal */
export function normalizeOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const url = new URL(value)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    return url.origin
  } catch {
    return undefined
  }
}

/** @internal */
export function positive(option: string, value: unknown): void {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw invalidOption(option, 'must be a positive number', value)
  }
}

/** @internal */
export function atLeastZero(option: string, value: unknown): void {
  if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
    throw invalidOption(option, 'must be a number ≥ 0', value)
  }
}

/** @internal */
export function percent(option: string, value: unknown): void {
  if (!(typeof value === 'number' && value >= 0 && value <= 100)) {
    throw invalidOption(option, 'must be a percentage in [0, 100]', value)
  }
}

/** @internal */
export function integer(option: string, value: unknown, min: number): void {
  if (!(Number.isInteger(value) && (value as number) >= min)) {
    throw invalidOption(option, `must be an integer ≥ ${min}`, value)
  }
}

/** @internal */
export function boolean(option: string, value: unknown): void {
  if (typeof value !== 'boolean') throw invalidOption(option, 'must be true or false', value)
}

/** @internal */
export function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
