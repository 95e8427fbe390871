/** One axis: a range and whether it is logarithmic. */
export interface Axis {
  min: number
  max: number
  log: boolean
}

/**
 * A linear axis from 0 (or, when every value sits far from 0, a round number below them) to a round
 * number above the largest value.
 */
export function linearAxis(values: readonly number[], floorAtZero = false): Axis {
  const max = niceCeil(Math.max(1, ...values) * 1.05)
  const least = Math.min(...values)
  const min = floorAtZero || !(least > 0.5 * max) ? 0 : niceFloor(least * 0.95)
  return { min, max, log: false }
}

/** A log axis over whole decades around the positive values. */
export function logAxis(values: readonly number[]): Axis {
  const positive = values.filter((v) => v > 0)
  const min = 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(1, ...positive))))
  const max = 10 ** Math.ceil(Math.log10(Math.max(min * 10, ...positive)))
  return { min, max, log: true }
}

/** Where `value` falls on the axis, 0 at `min` to 1 at `max` (clamped to the axis for log). */
export function position(axis: Axis, value: number): number {
  if (!axis.log) return (value - axis.min) / (axis.max - axis.min)
  const v = Math.max(value, axis.min)
  return (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
}

/** Tick values: 1-2-5 per decade on a log axis, about `count` round steps on a linear one. */
export function ticks(axis: Axis, count = 6): number[] {
  if (axis.log) {
    const out: number[] = []
    for (let decade = axis.min; decade <= axis.max; decade *= 10) {
      for (const m of [1, 2, 5]) if (decade * m <= axis.max) out.push(Math.round(decade * m * 1e6) / 1e6)
    }
    return out
  }
  const rough = (axis.max - axis.min) / Math.max(2, count)
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((s) => s * magnitude).find((s) => s >= rough) ?? rough
  const out: number[] = []
  const first = Math.ceil(axis.min / step) * step
  for (let t = first; t <= axis.max + step / 1000; t += step) out.push(Math.round(t * 1e6) / 1e6)
  return out
}

function niceCeil(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= value) return step * magnitude
  }
  return 10 * magnitude
}

function niceFloor(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [10, 8, 6, 5, 4, 3, 2.5, 2, 1.5, 1]) {
    if (step * magnitude <= value) return step * magnitude
  }
  return magnitude
}

/** `1.5k` for thousands, else the number with at most three decimals. */
export function formatTick(n: number): string {
  if (n >= 1000) return `${Math.round(n / 100) / 10}k`.replace('.0k', 'k')
  return String(Math.round(n * 1000) / 1000)
}
