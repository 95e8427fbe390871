import * as diagnostics from 'node:diagnostics_channel'

/**
 * `diagnostics_channel` names this package publishes on. Subscribe to observe without a logger:
 *
 * - `hundredfold:id:clock-backwards` `{ workerId, backwardsMs, lastTimestamp, now, action: 'wait' | 'refuse' }`
 * - `hundredfold:id:lease` `{ event: 'acquired' | 'renewed' | 'renew-failed' | 'lost' | 'released', workerId, fencingToken, error? }`
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(ID_CHANNELS.clockBackwards, (event) => log.warn(event, 'clock stepped back'))
 */
export const ID_CHANNELS = Object.freeze({
  clockBackwards: 'hundredfold:id:clock-backwards',
  lease: 'hundredfold:id:lease',
})

/** What `hundredfold:id:clock-backwards` carries. */
export interface ClockBackwardsEvent {
  workerId: number
  backwardsMs: number
  lastTimestamp: number
  now: number
  /** `wait`: a step within `maxBackwardsMs`, waited out; `refuse`: a larger one, refused. */
  action: 'wait' | 'refuse'
}

/** What `hundredfold:id:lease` carries. */
export interface LeaseEvent {
  event: 'acquired' | 'renewed' | 'renew-failed' | 'lost' | 'released'
  workerId: number
  fencingToken: number
  error?: unknown
}

/** @internal */
export const clockBackwardsChannel = diagnostics.channel(ID_CHANNELS.clockBackwards)
/** @internal */
export const leaseChannel = diagnostics.channel(ID_CHANNELS.lease)
