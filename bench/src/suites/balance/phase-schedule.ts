/** The three phases of the measured run, in order: all backends well, backend #0 slow, backend #0 dead. */
export const PHASES = ['normal', 'slow', 'killed'] as const

export type PhaseName = (typeof PHASES)[number]

/** One phase of the measured run, as offsets in ms from the window's start (`startMs` inclusive). */
export interface Phase {
  name: PhaseName
  startMs: number
  endMs: number
}

/**
 * Splits a measured run of `durationMs` into thirds: `normal`, then `slow` (backend #0 answers after 2 s),
 * then `killed` (backend #0 refuses connections). The warm-up before it is not a phase.
 *
 * @example
 * phaseSchedule(45_000) // [{ normal 0–15000 }, { slow 15000–30000 }, { killed 30000–45000 }]
 */
export function phaseSchedule(durationMs: number): Phase[] {
  const third = durationMs / 3
  return PHASES.map((name, i) => ({
    name,
    startMs: i * third,
    endMs: i === PHASES.length - 1 ? durationMs : (i + 1) * third,
  }))
}

/**
 * The phase a request belongs to, by its intended send time as an offset from the window's start;
 * undefined before the window (warm-up) or after it.
 */
export function phaseAt(schedule: readonly Phase[], offsetMs: number): PhaseName | undefined {
  for (const phase of schedule) {
    if (offsetMs >= phase.startMs && offsetMs < phase.endMs) return phase.name
  }
  return undefined
}
