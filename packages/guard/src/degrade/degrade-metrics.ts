import type { CounterChild, GaugeChild, Registry } from '@hundredfold/metrics'
import { counterOn, gaugeOn } from '../observe/index.js'

/**
 * What a degradation switch reports on a registry, labelled `policy` (its `name`):
 *
 * | metric | type | |
 * |---|---|---|
 * | `hundredfold_guard_degrade_on` | gauge | 1 while on |
 * | `hundredfold_guard_degrade_signal` | gauge | the signal at the last sample |
 * | `hundredfold_guard_degrade_transitions_total{to}` | counter | transitions, `to` being `on` or `off` |
 * | `hundredfold_guard_degrade_skipped_total` | counter | work skipped while on |
 *
 * @internal
 */
export class DegradeMetrics {
  readonly on: GaugeChild
  readonly signal: GaugeChild
  readonly turnedOn: CounterChild
  readonly turnedOff: CounterChild
  readonly skipped: CounterChild

  constructor(registry: Registry, policy: string) {
    const labelNames = ['policy'] as const
    const labels = { policy }
    this.on = gaugeOn(registry, {
      name: 'hundredfold_guard_degrade_on',
      help: '1 while the degradation switch is on.',
      labelNames,
    }).labels(labels)
    this.signal = gaugeOn(registry, {
      name: 'hundredfold_guard_degrade_signal',
      help: "The degradation switch's signal at its last sample.",
      labelNames,
    }).labels(labels)
    const transitions = counterOn(registry, {
      name: 'hundredfold_guard_degrade_transitions_total',
      help: 'Transitions of a degradation switch, by the state it went to.',
      labelNames: ['policy', 'to'],
    })
    this.turnedOn = transitions.labels({ policy, to: 'on' })
    this.turnedOff = transitions.labels({ policy, to: 'off' })
    this.skipped = counterOn(registry, {
      name: 'hundredfold_guard_degrade_skipped_total',
      help: 'Optional work skipped while a degradation switch was on.',
      labelNames,
    }).labels(labels)
  }
}
