import { ShardError } from '../errors.js'
import type { ShardRouter } from '../router/shard-router.js'

/** Options shared by the steps. */
export interface StepOptions {
  signal?: AbortSignal
}

/** Options of `cutover` and `reverse`. Every default is in `reshardSwitchDefaults`. */
export interface SwitchOptions extends StepOptions {
  /**
   * Routers of this process, switched directly. Routers of other processes take part through
   * `watchShardMap`. @default []
   */
  routers?: readonly ShardRouter[]
  /**
   * The longest the writes may be held. The switch gives up — releasing every write on the old map,
   * switching nothing — unless every router has acknowledged the hold and every new database (or, for
   * `reverse`, every source) has shown the fence within `prepareShare` of this; the rest is for
   * swapping the replication and publishing the map. @default 1000
   */
  maxPauseMs?: number
  /**
   * How long routers may take to answer before anything is held (a silent one is waited for until its
   * lease runs out; if it still has one then, the switch fails and nothing was held), and to confirm
   * the new map after. @default 6000 (above the default lease of `watchShardMap`, 5000)
   */
  routerWaitMs?: number
}

/**
 * The defaults of `SwitchOptions`.
 *
 * @example
 * reshardSwitchDefaults.maxPauseMs // 1000
 */
export const reshardSwitchDefaults = Object.freeze({
  routers: Object.freeze([]) as readonly ShardRouter[],
  maxPauseMs: 1000,
  routerWaitMs: 6000,
  /** Share of `maxPauseMs` for the acknowledgements and fences, before the point of no return. */
  prepareShare: 0.6,
})

/** `SwitchOptions` validated, defaults applied. @internal */
export interface ResolvedSwitchOptions {
  readonly routers: readonly ShardRouter[]
  readonly maxPauseMs: number
  readonly routerWaitMs: number
  readonly signal: AbortSignal | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveSwitchOptions(options: SwitchOptions): ResolvedSwitchOptions {
  const routers = options.routers ?? reshardSwitchDefaults.routers
  if (!Array.isArray(routers) || routers.some((r) => typeof r?.hold !== 'function')) {
    throw invalid('options.routers', 'must be an array of ShardRouter', routers)
  }
  const resolved = {
    routers,
    maxPauseMs: options.maxPauseMs ?? reshardSwitchDefaults.maxPauseMs,
    routerWaitMs: options.routerWaitMs ?? reshardSwitchDefaults.routerWaitMs,
    signal: options.signal,
  }
  for (const name of ['maxPauseMs', 'routerWaitMs'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] <= 0) {
      throw invalid(`options.${name}`, 'must be a positive integer (ms)', resolved[name])
    }
  }
  return Object.freeze(resolved)
}

function invalid(option: string, problem: string, value: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', `${option} ${problem}`, { option, value })
}
