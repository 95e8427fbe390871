import type { Registry } from '@hundredfold/metrics'

/**
 * A counter with one label whose series follow running totals kept elsewhere: at each scrape,
 * `totals()` gives each label value's total so far.
 */
export function totalsCounter<L extends string>(
  registry: Registry,
  options: { name: string; help: string; label: L; totals: () => Readonly<Record<string, number>> },
): void {
  const { name, help, label, totals } = options
  registry.counter({
    name,
    help,
    labelNames: [label],
    collect: (counter) => {
      for (const [value, total] of Object.entries(totals())) {
        catchUp(counter.labels({ [label]: value } as Record<L, string>), total)
      }
    },
  })
}

/** Brings a counter up to a running total kept elsewhere (cluster or cache stats) at scrape time. */
export function catchUp(counter: { value: number; inc(amount: number): void }, total: number): void {
  if (total > counter.value) counter.inc(total - counter.value)
}
