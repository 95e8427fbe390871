import type { Registry } from '@hundredfold/metrics'

type Reads = Map<string, () => number>

// One family per registry and name, shared by every policy reporting to it; its series are read at
// scrape time, so a gauge never lags the state it shows (a queue depth set after an await would).
const families = new WeakMap<Registry, Map<string, Reads>>()

/**
 * Adds the series `{policy}` to the gauge family `name` on `registry`, its value read by `read` at each
 * scrape. A later policy of the same name replaces the earlier one's series. @internal
 */
export function liveGauge(
  registry: Registry,
  name: string,
  help: string,
  policy: string,
  read: () => number,
): void {
  let byName = families.get(registry)
  if (!byName) {
    byName = new Map()
    families.set(registry, byName)
  }
  let reads = byName.get(name)
  if (!reads) {
    const sources: Reads = new Map()
    registry.gauge({
      name,
      help,
      labelNames: ['policy'],
      collect: (gauge) => {
        for (const [label, value] of sources) gauge.labels({ policy: label }).set(value())
      },
    })
    reads = sources
    byName.set(name, reads)
  }
  reads.set(policy, read)
}
