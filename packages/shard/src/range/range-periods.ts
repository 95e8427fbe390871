/**
 * Which periods of each range table have their physical tables, as a router knows it: learned from
 * `ensurePeriods` / `loadPeriods` (which read the migration records of every database), consulted on
 * every statement so a write into a period nobody made fails with `E_RANGE_MISSING` before it reaches
 * the server.
 *
 * @example
 * router.periods.has('posts', periodOf('month', Date.now())) // false until ensurePeriods ran
 */
export class RangePeriods {
  readonly #known = new Map<string, Set<number>>()
  readonly #last = new Map<string, number>()
  #version = 0

  /** Increments on every change (cached scatter targets of range tables are rebuilt then). */
  get version(): number {
    return this.#version
  }

  has(table: string, period: number): boolean {
    return this.#known.get(table)?.has(period) ?? false
  }

  /** Notes periods whose physical tables all exist. */
  add(table: string, periods: Iterable<number>): void {
    let known = this.#known.get(table)
    if (known === undefined) {
      known = new Set()
      this.#known.set(table, known)
    }
    for (const period of periods) {
      if (known.has(period)) continue
      known.add(period)
      this.#version++
      const last = this.#last.get(table)
      if (last === undefined || period > last) this.#last.set(table, period)
    }
  }

  /** The known periods of a table, oldest first. */
  list(table: string): number[] {
    return [...(this.#known.get(table) ?? [])].sort((a, b) => a - b)
  }

  /** The newest known period of a table. */
  last(table: string): number | undefined {
    return this.#last.get(table)
  }

  /**
   * Periods made ahead of `current`: 0 when only the current one exists, negative when even it is
   * missing (−1 when nothing is known).
   */
  horizon(table: string, current: number): number {
    const last = this.#last.get(table)
    return last === undefined ? -1 : last - current
  }
}
