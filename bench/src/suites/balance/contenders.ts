import { Balancer, dynamicWeight, type Picker, p2cPeakEwma, roundRobin } from '@hundredfold/balance'
import { BalancedPool, type Dispatcher } from 'undici'

/** The pickers of one run, in the order they run; their names are the suffixes of the metric keys. */
export const PICKERS = ['dynamic_weight', 'p2c_ewma', 'round_robin', 'undici'] as const

export type PickerName = (typeof PICKERS)[number]

/** One balancer under test, over the fleet's origins. */
export interface Contender {
  name: PickerName
  /** What it is, for the notes: `@hundredfold/balance Balancer with p2cPeakEwma()`. */
  label: string
  dispatcher: Dispatcher
  /** The balancer's own view of its endpoints at the end (ours: `endpoints()`). */
  snapshot(): unknown
  /** Closes it, destroying it when in-flight requests hold it open for more than 5 s. */
  close(): Promise<void>
}

const OURS: Record<Exclude<PickerName, 'undici'>, { factory: string; picker: () => Picker }> = {
  dynamic_weight: { factory: 'dynamicWeight', picker: () => dynamicWeight() },
  p2c_ewma: { factory: 'p2cPeakEwma', picker: () => p2cPeakEwma() },
  round_robin: { factory: 'roundRobin', picker: () => roundRobin() },
}

/**
 * The contender of that name over `origins`, each with its defaults: ours as `new Balancer({ endpoints,
 * picker })` and nothing else set, undici's `BalancedPool` as `new BalancedPool(origins)`.
 *
 * @example
 * const contender = createContender('p2c_ewma', fleet.origins)
 * await contender.dispatcher.request({ method: 'GET', path: '/' })
 */
export function createContender(name: PickerName, origins: readonly string[]): Contender {
  if (name === 'undici') {
    const pool = new BalancedPool([...origins])
    return {
      name,
      label: 'undici BalancedPool (defaults: one Pool per upstream, weights cut by connection errors)',
      dispatcher: pool,
      snapshot: () => ({ upstreams: pool.upstreams }),
      close: () => closeBounded(pool),
    }
  }
  const { factory, picker } = OURS[name]
  const balancer = new Balancer({ endpoints: [...origins], picker: picker() })
  return {
    name,
    label: `@hundredfold/balance Balancer with ${factory}() (package defaults otherwise)`,
    dispatcher: balancer,
    snapshot: () => balancer.endpoints(),
    close: () => closeBounded(balancer),
  }
}

async function closeBounded(dispatcher: Dispatcher): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 5000)
  })
  const closed = dispatcher.close().then(
    () => 'closed' as const,
    () => 'late' as const,
  )
  const how = await Promise.race([closed, late])
  clearTimeout(timer)
  if (how === 'late') await dispatcher.destroy().catch(() => {})
}
