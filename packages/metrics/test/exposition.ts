// A strict reader of the Prometheus text exposition format 0.0.4, for tests: it parses what a registry
// renders and throws on what Prometheus would reject or misread (a second TYPE for a name, samples outside
// their family, buckets that are not cumulative or whose +Inf is not the count).

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y

/** Parses `text` into families by name, checking the rules above. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  if (text === '') return families
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline')
  let current: Family | undefined
  const owners = new Map<string, string>() // sample name → its family: no name may be rendered by two
  const seen = new Set<string>()
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help) {
      const [, name, helpText] = help
      if (families.has(name!)) throw new Error(`second HELP for ${name}`)
      current = { name: name!, type: 'untyped', help: helpText!, samples: [] }
      families.set(name!, current)
      continue
    }
    const type = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line)
    if (type) {
      if (
        current === undefined ||
        current.name !== type[1] ||
        current.samples.length > 0 ||
        current.type !== 'untyped'
      ) {
        throw new Error(`TYPE ${type[1]} must follow its HELP, once, before samples`)
      }
      current.type = type[2]!
      continue
    }
    const sample = SAMPLE.exec(line)
    if (!sample || current === undefined) throw new Error(`bad line: ${line}`)
    const [, name, labelText = '', value] = sample
    if (!belongs(name!, current)) throw new Error(`sample ${name} outside its family ${current.name}`)
    if ((owners.get(name!) ?? current.name) !== current.name) throw new Error(`${name} in two families`)
    owners.set(name!, current.name)
    const labels = parseLabels(labelText)
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(id)) throw new Error(`sample ${id} twice`)
    seen.add(id)
    current.samples.push({ name: name!, labels, value: parseValue(value!) })
  }
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family)
    if (family.type === 'summary') checkSummary(family)
  }
  return families
}

/** The series key of a sample without `le` and `quantile`: what `sum by (…)` groups on. */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'le' && k !== 'quantile')
      .sort(),
  )
}

/**
 * What Prometheus's `sum` over instances gives for one histogram family: bucket, sum and count samples
 * added up by name and labels, as from `sum by (le, …) (x_bucket)`.
 */
export function sumHistograms(texts: readonly string[], family: string): Map<string, number> {
  const total = new Map<string, number>()
  for (const text of texts) {
    const found = parseExposition(text).get(family)
    if (found?.type !== 'histogram') throw new Error(`${family} is not a histogram`)
    for (const s of found.samples) {
      const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`
      total.set(key, (total.get(key) ?? 0) + s.value)
    }
  }
  return total
}

function belongs(sample: string, family: Family): boolean {
  const { name, type } = family
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`].includes(sample)
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`].includes(sample)
  return sample === name
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text)
    if (!match) throw new Error(`bad labels: ${text}`)
    const [, key, raw] = match
    if (Object.hasOwn(labels, key!)) throw new Error(`label ${key} twice`)
    labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  const value = Number(text)
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`bad value ${text}`)
  return value
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>()
  for (const s of family.samples) {
    const key = seriesKey(s.labels)
    const entry = series.get(key) ?? { buckets: [] }
    series.set(key, entry)
    if (s.name.endsWith('_bucket')) {
      const le = s.labels['le']
      if (le === undefined) throw new Error(`${s.name} without le`)
      entry.buckets.push([parseValue(le), s.value])
    } else if (s.name.endsWith('_sum')) entry.sum = s.value
    else entry.count = s.value
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `${family.name}${key}`
    if (sum === undefined || count === undefined) throw new Error(`${where} lacks _sum or _count`)
    const last = buckets.at(-1)
    if (last?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where} lacks le="+Inf" last`)
    if (last[1] !== count) throw new Error(`${where}: +Inf bucket ${last[1]} is not _count ${count}`)
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0])) throw new Error(`${where}: le not increasing`)
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`)
    }
  }
}

function checkSummary(family: Family): void {
  for (const s of family.samples) {
    if (s.name === family.name && s.labels['quantile'] === undefined)
      throw new Error(`${s.name} without quantile`)
  }
}
