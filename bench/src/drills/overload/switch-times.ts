import type { MetricsSample } from './metrics-watch.js'
import type { OverloadWindow } from './overload-figures.js'

/** When the antispam degrade switch moved, in seconds from the overload's start (`/metrics` read every 250 ms). */
export interface SwitchTimes {
  /** First read with the switch on, after the overload began; null if it never turned on. */
  on_s: number | null
  /** First read with it off again after that; null if it stayed on to the end. */
  off_s: number | null
  /** Moves (on or off) seen during the overload and the recovery after it. */
  moves: number
  /** Reads during the run; 0 means the server did not export the switch (antispam off). */
  reads: number
}

export function switchTimes(samples: readonly MetricsSample[], window: OverloadWindow): SwitchTimes {
  const known = samples.filter((s) => s.antispamDegraded !== undefined)
  const on = known.find((s) => s.at >= window.start && s.antispamDegraded === 1)
  const off = on ? known.find((s) => s.at > on.at && s.antispamDegraded === 0) : undefined
  const since = (s: MetricsSample | undefined) => (s ? Math.round((s.at - window.start) / 100) / 10 : null)
  let moves = 0
  const after = known.filter((s) => s.at >= window.start && s.at < window.recoveryEnd)
  for (let i = 1; i < after.length; i++)
    if (after[i]!.antispamDegraded !== after[i - 1]!.antispamDegraded) moves++
  return { on_s: since(on), off_s: since(off), moves, reads: known.length }
}
