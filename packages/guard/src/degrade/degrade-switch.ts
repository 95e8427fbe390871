import { GuardError } from '../errors.js'
import { publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import type { DegradeSwitchEvent } from './degrade-events.js'
import { DegradeMetrics } from './degrade-metrics.js'
import {
  type DegradeSwitchOptions,
  type ResolvedDegradeSwitchOptions,
  resolveDegradeSwitchOptions,
} from './degrade-switch-options.js'

/** Who decides: the signal (`auto`), or an operator holding the switch `on` or `off`. */
export type DegradeMode = 'auto' | 'on' | 'off'

/** The state and counters of a switch. */
export interface DegradeSwitchStats {
  on: boolean
  mode: DegradeMode
  /** The signal at the last sample (`NaN` before the first). */
  value: number
  /** Transitions to on and to off since the switch was made (beyond what `transitions` keeps). */
  turnedOn: number
  turnedOff: number
  /** Work skipped while on (by {@link optional} or {@link DegradeSwitch.execute}). */
  skipped: number
  /** When it last turned on / off, by its clock; `undefined` if never. */
  lastOnAt: number | undefined
  lastOffAt: number | undefined
}

const never = new AbortController().signal

/**
 * A degradation switch: turns optional work off while a load signal is high. It turns on when the signal
 * is above `onAbove` and off only once it is below `offBelow` (hysteresis), and stays in each state at
 * least `minOnMs` / `minOffMs` (dwell), so it does not flap at the threshold. Every transition is kept
 * with its time. Made by {@link degradeSwitch}.
 *
 * The signal is sampled every `intervalMs` after `start()` (on an unref'd timer), or, without it, when
 * `on` is read and the last sample is older than `intervalMs`.
 */
export class DegradeSwitch implements Policy {
  readonly name: string
  readonly #o: ResolvedDegradeSwitchOptions
  readonly #metrics: DegradeMetrics | undefined
  readonly #transitions: DegradeSwitchEvent[] = []
  #on = false
  #mode: DegradeMode = 'auto'
  #value = Number.NaN
  #changedAt = Number.NEGATIVE_INFINITY
  #sampledAt = Number.NEGATIVE_INFINITY
  #timer: ReturnType<typeof setInterval> | undefined
  #counts = { turnedOn: 0, turnedOff: 0, skipped: 0 }
  #lastOnAt: number | undefined
  #lastOffAt: number | undefined

  constructor(options: DegradeSwitchOptions) {
    this.#o = resolveDegradeSwitchOptions(options)
    this.name = this.#o.name
    this.#metrics = this.#o.registry ? new DegradeMetrics(this.#o.registry, this.name) : undefined
    this.#metrics?.on.set(0)
  }

  /** Whether optional work is to be skipped now. Samples first if not started and the last sample is stale. */
  get on(): boolean {
    if (this.#timer === undefined && this.#o.now() - this.#sampledAt >= this.#o.intervalMs) this.sample()
    return this.#on
  }

  get mode(): DegradeMode {
    return this.#mode
  }

  /** Every kept transition, oldest first: when it turned on and off, and why. */
  get transitions(): readonly DegradeSwitchEvent[] {
    return this.#transitions
  }

  /** The state and counters now (without sampling). */
  stats(): DegradeSwitchStats {
    return {
      on: this.#on,
      mode: this.#mode,
      value: this.#value,
      ...this.#counts,
      lastOnAt: this.#lastOnAt,
      lastOffAt: this.#lastOffAt,
    }
  }

  /**
   * Reads the signal now and applies it; returns the state. `start()` calls it every `intervalMs`.
   *
   * @example
   * antispam.sample() // → true while the event loop is slow
   */
  sample(): boolean {
    const now = this.#o.now()
    this.#sampledAt = now
    let value: number
    try {
      value = this.#o.signal()
    } catch {
      return this.#on
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.#on
    this.#value = value
    this.#metrics?.signal.set(value)
    if (this.#mode !== 'auto') return this.#on
    const dwelt = now - this.#changedAt
    if (!this.#on && value > this.#o.onAbove && dwelt >= this.#o.minOffMs) this.#turn(true, now, 'signal')
    else if (this.#on && value < this.#o.offBelow && dwelt >= this.#o.minOnMs)
      this.#turn(false, now, 'signal')
    return this.#on
  }

  /**
   * Holds the switch `on` or `off` whatever the signal (at once, ignoring dwell times), or hands it back to
   * the signal (`auto`, sampled at once; the dwell counts from the last transition).
   *
   * @example
   * antispam.force('on') // an operator sheds the spam check during an incident
   * antispam.force('auto')
   */
  force(mode: DegradeMode): void {
    if (mode !== 'auto' && mode !== 'on' && mode !== 'off') {
      throw new GuardError('E_INVALID_OPTION', `force(mode): mode must be 'on', 'off' or 'auto'`, {
        option: 'mode',
        value: mode,
      })
    }
    this.#mode = mode
    if (mode === 'auto') this.sample()
    else if (this.#on !== (mode === 'on')) this.#turn(mode === 'on', this.#o.now(), 'forced')
  }

  /**
   * Counts one piece of work skipped because the switch is on ({@link optional} does it for you).
   *
   * @example
   * if (antispam.on) antispam.skip()
   * else await checkSpam(post, signal)
   */
  skip(): void {
    this.#counts.skipped++
    this.#metrics?.skipped.inc()
  }

  /**
   * Runs `fn` while off; while on, counts it skipped and rejects with `E_DEGRADED`: the switch as a
   * policy, for `wrap()`.
   *
   * @throws {GuardError} `E_DEGRADED` (`switch`) while on; otherwise what `fn` throws.
   * @example
   * const recommendations = await wrap(recsSwitch, timeout).execute(({ signal }) => recs.fetch(user, signal))
   */
  async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.on) {
      this.skip()
      throw this.degradedError()
    }
    return fn({ signal: signal ?? never })
  }

  /** The `E_DEGRADED` error this switch answers with while on. */
  degradedError(): GuardError {
    return new GuardError('E_DEGRADED', `${this.name} is degraded: the optional work was skipped`, {
      policy: this.name,
      switch: this.name,
    })
  }

  /**
   * Samples every `intervalMs` on an unref'd timer (it does not keep the process alive). Idempotent.
   *
   * @example
   * const antispam = degradeSwitch({ name: 'antispam', signal: eventLoopDelaySignal(), onAbove: 100, offBelow: 40 }).start()
   */
  start(): this {
    if (this.#timer !== undefined) return this
    this.sample()
    this.#timer = setInterval(() => this.sample(), this.#o.intervalMs)
    this.#timer.unref()
    return this
  }

  /** Stops sampling on the timer (reads of `on` sample lazily again). Idempotent. */
  stop(): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  [Symbol.dispose](): void {
    this.stop()
  }

  #turn(on: boolean, at: number, reason: DegradeSwitchEvent['reason']): void {
    this.#on = on
    this.#changedAt = at
    const event: DegradeSwitchEvent = {
      policy: this.name,
      on,
      at,
      value: reason === 'forced' ? Number.NaN : this.#value,
      reason,
    }
    this.#transitions.push(event)
    if (this.#transitions.length > this.#o.historySize) this.#transitions.shift()
    if (on) {
      this.#counts.turnedOn++
      this.#lastOnAt = at
      this.#metrics?.turnedOn.inc()
    } else {
      this.#counts.turnedOff++
      this.#lastOffAt = at
      this.#metrics?.turnedOff.inc()
    }
    this.#metrics?.on.set(on ? 1 : 0)
    publish('degrade-switch', event)
    try {
      this.#o.onChange?.(event)
    } catch {
      // A listener's bug must not stop the switch (nor crash the process from the sampling timer).
    }
  }
}

/**
 * Makes a {@link DegradeSwitch}.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const antispam = degradeSwitch({
 *   name: 'antispam',
 *   signal: eventLoopDelaySignal({ percentile: 99 }), // ms
 *   onAbove: 100, // skip the spam check once p99 event-loop delay passes 100 ms…
 *   offBelow: 40, // …and resume it only once it is back under 40 ms
 *   minOnMs: 10_000,
 *   registry,
 * }).start()
 * const verdict = await optional(antispam, () => spam.check(post, { signal }), () => 'unchecked')
 */
export function degradeSwitch(options: DegradeSwitchOptions): DegradeSwitch {
  return new DegradeSwitch(options)
}
