import { invalidOption } from '../errors.js'
import { normalizeOrigin } from '../validate.js'
import type { Picker } from './picker.js'
import { smoothWeighted } from './round-robin.js'

/** Options of {@link staticWeight}. */
export interface StaticWeightOptions {
  /** Weights by origin, overriding the ones discovery gives (SRV weights, `{ origin, weight }`). @default {} */
  weights?: Readonly<Record<string, number>>
}

/**
 * Static weights: each endpoint gets turns in proportion to its weight (× slow-start share), evenly
 * interleaved (smooth weighted round robin, nginx's). Weights come from discovery or from `weights`.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if a weight is not a positive number.
 * @example
 * const balancer = new Balancer({
 *   endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
 *   picker: staticWeight({ weights: { 'http://10.0.0.1:8080': 3 } }), // 3 : 1
 * })
 */
export function staticWeight(options: StaticWeightOptions = {}): Picker {
  const weights = new Map<string, number>()
  for (const [origin, weight] of Object.entries(options.weights ?? {})) {
    const key = normalizeOrigin(origin)
    if (key === undefined)
      throw invalidOption(`options.weights['${origin}']`, 'must be keyed by an origin', origin)
    if (!(typeof weight === 'number' && weight > 0 && Number.isFinite(weight))) {
      throw invalidOption(`options.weights['${origin}']`, 'must be a positive number', weight)
    }
    weights.set(key, weight)
  }
  return smoothWeighted(
    'static-weight',
    (endpoint, now) => (weights.get(endpoint.origin) ?? endpoint.weight) * endpoint.slowStartFactor(now),
  )
}
