import { setTimeout as sleep } from 'node:timers/promises'

/** One reading of counters summed over every scraped process. */
export interface CounterSample {
  /** `performance.now()` of the reading. */
  at: number
  /** Per counter name, the sum over every series of it on every process that answered. */
  values: Record<string, number>
}

/**
 * Sums, over every series and every `/metrics` text, the counters `names` (Prometheus text format:
 * `name{…} value` or `name value`). A name may select series by their first labels:
 * `home_timeline_reads_total{source="rebuild"}`.
 */
export function sumCounters(texts: readonly string[], names: readonly string[]): Record<string, number> {
  const values = Object.fromEntries(names.map((name) => [name, 0]))
  const matches = (line: string, name: string) =>
    name.includes('{')
      ? line.startsWith(name.slice(0, -1))
      : line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ')
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue
      const value = Number(line.slice(line.lastIndexOf(' ') + 1))
      if (!Number.isFinite(value)) continue
      for (const name of names) if (matches(line, name)) values[name] = values[name]! + value
    }
  }
  return values
}

/**
 * Reads the counters `names` from every `urls` every `everyMs` until `signal` aborts; a process that
 * does not answer is left out of that reading.
 *
 * @example
 * const samples = await sampleCounters(apps.map((a) => `${a.url}/metrics`), ['db_queries_total'], 500, signal)
 */
export async function sampleCounters(
  urls: readonly string[],
  names: readonly string[],
  everyMs: number,
  signal: AbortSignal,
): Promise<CounterSample[]> {
  const samples: CounterSample[] = []
  while (!signal.aborted) {
    const texts = await Promise.all(
      urls.map((url) =>
        fetch(url, { signal: AbortSignal.timeout(2000) }).then(
          (res) => res.text(),
          () => '',
        ),
      ),
    )
    samples.push({ at: performance.now(), values: sumCounters(texts, names) })
    await sleep(everyMs, undefined, { signal }).catch(() => {})
  }
  return samples
}

/** The highest per-second rate of `name` between consecutive samples in `[from, to]`; 0 with fewer than two. */
export function peakRate(
  samples: readonly CounterSample[],
  name: string,
  from = -Infinity,
  to = Infinity,
): number {
  let peak = 0
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!
    const b = samples[i]!
    if (a.at < from || b.at > to) continue
    const delta = (b.values[name] ?? 0) - (a.values[name] ?? 0)
    if (delta >= 0) peak = Math.max(peak, delta / ((b.at - a.at) / 1000))
  }
  return Math.round(peak)
}

/** The rate of `name` from the first sample at or after `from` to the last at or before `to`. */
export function meanRate(samples: readonly CounterSample[], name: string, from: number, to: number): number {
  const inside = samples.filter((s) => s.at >= from && s.at <= to)
  if (inside.length < 2) return 0
  const a = inside[0]!
  const b = inside[inside.length - 1]!
  return Math.round(((b.values[name] ?? 0) - (a.values[name] ?? 0)) / ((b.at - a.at) / 1000))
}

/** How much `name` grew from the first sample to the last; 0 with fewer than two. */
export function grew(samples: readonly CounterSample[], name: string): number {
  if (samples.length < 2) return 0
  return (samples[samples.length - 1]!.values[name] ?? 0) - (samples[0]!.values[name] ?? 0)
}
