export { DEGRADE_CHANNELS, type DegradeSwitchEvent } from './degrade-events.js'
export { type DegradeMode, DegradeSwitch, type DegradeSwitchStats, degradeSwitch } from './degrade-switch.js'
export { type DegradeSwitchOptions, degradeSwitchDefaults } from './degrade-switch-options.js'
export { optional } from './optional.js'
export {
  type BreakerStateSource,
  breakerOpenSignal,
  type ClosableSignal,
  type EventLoopDelaySignalOptions,
  eventLoopDelaySignal,
  eventLoopDelaySignalDefaults,
  type InFlightSource,
  inFlightSignal,
} from './signals.js'
