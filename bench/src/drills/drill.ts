import type { MetricValue } from '../results.js'

/** Options every drill takes; `npm run drill -- <name> --flag value` sets them. */
export interface DrillOptions {
  /** Offered rate of the mix; unset = half the stack's last measured MST, else {@link FALLBACK_RATE}. */
  rate: number | undefined
  /** Load before the fault and after it, each. @default 5000 */
  aroundMs: number
  /** The stack's directory; unset = the stack's default. */
  dir: string | undefined
  /** App processes of a stack the drill starts. @default the stack's default (2) */
  apps: number | undefined
  /** socfb-Reed98 folder (loaded when the drill starts the stack). */
  dataset: string
  seed: number
  outDir: string
  log: (line: string) => void
}

/** A drill's bound on one of its keys: the value must be at most `max` (or at least `min`). */
export type Floor = { max: number } | { min: number }

/** One floor as a run judged it. */
export interface FloorVerdict {
  key: string
  floor: Floor
  /** The key's value in the run; null when the run did not produce it (which fails the floor). */
  value: MetricValue
  met: boolean
}

/** What a drill produced. */
export interface DrillOutcome {
  metrics: Record<string, MetricValue>
  file: string
  /** Its floors, judged. */
  floors: FloorVerdict[]
}

/** Judges `floors` against `metrics`: a key missing or not a number fails its floor. */
export function judgeFloors(
  floors: Readonly<Record<string, Floor>>,
  metrics: Readonly<Record<string, MetricValue>>,
): FloorVerdict[] {
  return Object.entries(floors).map(([key, floor]) => {
    const value = metrics[key] ?? null
    const met = typeof value === 'number' && ('max' in floor ? value <= floor.max : value >= floor.min)
    return { key, floor, value, met }
  })
}

/** A fault drill, run as `npm run drill -- <name>`; results in `bench/results/drill-<name>.json`. */
export interface Drill {
  name: string
  description: string
  /** The bounds the drill's keys must keep (the floors). */
  floors: Readonly<Record<string, Floor>>
  run(options: Readonly<DrillOptions>, signal: AbortSignal): Promise<DrillOutcome>
}

/** The rate when neither `--rate` nor a stack MST is known: well below any MST measured on this machine. */
export const FALLBACK_RATE = 200
