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

/** What a drill produced. */
export interface DrillOutcome {
  metrics: Record<string, MetricValue>
  file: string
}

/** A fault drill, run as `npm run drill -- <name>`; results in `bench/results/drill-<name>.json`. */
export interface Drill {
  name: string
  description: string
  run(options: Readonly<DrillOptions>, signal: AbortSignal): Promise<DrillOutcome>
}

/** The rate when neither `--rate` nor a stack MST is known: well below any MST measured on this machine. */
export const FALLBACK_RATE = 200
