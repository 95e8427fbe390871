import { MetricsError } from './errors.js'
import { escapeHelp, escapeLabelValue, isLabelName, isMetricName } from './exposition.js'

/** Values for every label of a metric, keyed by label name. Numbers are rendered with `String()`. */
export type LabelValues<L extends string> = { readonly [K in L]: string | number }

/** The exposition type a metric family renders as. */
export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram'

/** Options every metric family takes. */
export interface MetricOptions<L extends string, M> {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention with a unit suffix (`_seconds`, `_bytes`, `_total`). */
  name: string
  /** One line of help text for the `# HELP` line. */
  help: string
  /**
   * Fixed label names, `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`. Every child sets all of them.
   * @default []
   */
  labelNames?: readonly L[]
  /**
   * Called synchronously at every scrape, before rendering, so the metric can read a live value
   * (`gauge.set(queue.length)`). A throw fails the scrape with `E_COLLECT_FAILED`.
   */
  collect?: (metric: M) => void
}

interface Series<C> {
  readonly pairs: string
  readonly child: C
}

/**
 * The part every metric family shares: name and label validation, one child per distinct label set,
 * the scrape-time `collect` callback, and the `# HELP`/`# TYPE` header. Subclasses say how a child is made
 * and rendered.
 */
export abstract class MetricFamily<L extends string, C> {
  /** The metric's name. */
  readonly name: string
  /** The metric's help text. */
  readonly help: string
  /** The metric's label names, in the order they are rendered. */
  readonly labelNames: readonly L[]
  /** The exposition type. */
  abstract readonly type: MetricType
  readonly #collect: ((metric: never) => void) | undefined
  readonly #series: Series<C>[] = []
  // One nested Map level per label name, leaves are children: a lookup builds no key string.
  readonly #tree = new Map<string, unknown>()
  #root: C | undefined

  protected constructor(options: MetricOptions<L, never>, reservedLabels: readonly string[] = []) {
    if (options === null || typeof options !== 'object') {
      throw new MetricsError('E_INVALID_OPTION', 'options must be an object with a name and help', {
        option: 'options',
        value: options,
      })
    }
    const { name, help, labelNames = [], collect } = options
    if (!isMetricName(name)) {
      throw new MetricsError('E_INVALID_NAME', 'options.name must match [a-zA-Z_:][a-zA-Z0-9_:]*', {
        value: name,
      })
    }
    if (typeof help !== 'string' || help === '') {
      throw new MetricsError('E_INVALID_OPTION', 'options.help must be a non-empty string', {
        metric: name,
        option: 'options.help',
        value: help,
      })
    }
    if (!Array.isArray(labelNames)) {
      throw new MetricsError('E_INVALID_OPTION', 'options.labelNames must be an array of label names', {
        metric: name,
        option: 'options.labelNames',
        value: labelNames,
      })
    }
    const seen = new Set<string>()
    for (const label of labelNames as unknown[]) {
      if (!isLabelName(label) || reservedLabels.includes(label)) {
        const reserved = reservedLabels.length > 0 ? ` and not be ${reservedLabels.join(', ')}` : ''
        throw new MetricsError(
          'E_INVALID_NAME',
          `label names of ${name} must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __${reserved}`,
          { metric: name, label: String(label), value: label },
        )
      }
      if (seen.has(label)) {
        throw new MetricsError('E_INVALID_NAME', `label name ${label} appears twice in ${name}`, {
          metric: name,
          label,
        })
      }
      seen.add(label)
    }
    if (collect !== undefined && typeof collect !== 'function') {
      throw new MetricsError('E_INVALID_OPTION', 'options.collect must be a function', {
        metric: name,
        option: 'options.collect',
        value: collect,
      })
    }
    this.name = name
    this.help = help
    this.labelNames = Object.freeze([...labelNames])
    this.#collect = collect
  }

  /**
   * The child for one set of label values, created on first use. Keep the child when the labels are
   * known up front; looking it up costs a Map lookup per label.
   *
   * @throws {MetricsError} `E_INVALID_LABELS` when a label is missing, unknown, or not a string or number.
   * @example
   * const requests = registry.counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['route', 'status'] })
   * requests.labels({ route: '/posts/:id', status: 200 }).inc()
   */
  labels(values: LabelValues<L>): C {
    const names = this.labelNames
    if (names.length === 0) {
      this.#checkKeys(values)
      return this.root
    }
    if (values === null || typeof values !== 'object') throw this.#labelsError(values)
    let keys = 0
    for (const _ in values) keys++ // counts without allocating, unlike Object.keys
    if (keys !== names.length) throw this.#labelsError(values)

    let node: unknown = this.#tree
    for (const label of names) {
      const value = values[label]
      const key = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined
      if (key === undefined) throw this.#labelsError(values)
      node = (node as Map<string, unknown>).get(key)
      if (node === undefined) return this.#create(values)
    }
    return node as C
  }

  /** The child of a family without labels. @internal */
  protected get root(): C {
    if (this.#root !== undefined) return this.#root
    if (this.labelNames.length > 0) {
      throw new MetricsError(
        'E_INVALID_LABELS',
        `${this.name} has labels (${this.labelNames.join(', ')}): call .labels({...}) first`,
        { metric: this.name },
      )
    }
    this.#root = this.createChild()
    this.#series.push({ pairs: '', child: this.#root })
    return this.#root
  }

  /** Makes a new child. */
  protected abstract createChild(): C

  /** Appends the sample lines of one child; `pairs` is `a="x",b="y"` or `''`. */
  protected abstract renderSeries(pairs: string, child: C, out: string[]): void

  /** Runs the `collect` callback. @internal */
  collect(): void {
    if (this.#collect === undefined) return
    try {
      ;(this.#collect as (metric: this) => void)(this)
    } catch (cause) {
      throw new MetricsError('E_COLLECT_FAILED', `collect callback of ${this.name} threw`, {
        metric: this.name,
        cause,
      })
    }
  }

  /**
   * Every sample name this family renders (a summary adds `_sum` and `_count`, a histogram `_bucket`), so a
   * registry can keep them from colliding. @internal
   */
  get sampleNames(): readonly string[] {
    return [this.name]
  }

  /** Appends the `# HELP` and `# TYPE` lines and every child's samples. @internal */
  render(out: string[]): void {
    this.renderFamily(out, this.name, this.type, (pairs, child) => this.renderSeries(pairs, child, out))
  }

  /**
   * Appends one exposition family: its header, then `renderOne` for every child. A family that renders as
   * two (a histogram beside its summary) calls it twice with different names.
   */
  protected renderFamily(
    out: string[],
    name: string,
    type: MetricType,
    renderOne: (pairs: string, child: C) => void,
  ): void {
    out.push(`# HELP ${name} ${escapeHelp(this.help)}`, `# TYPE ${name} ${type}`)
    if (this.labelNames.length === 0) void this.root // a metric without labels always has its one sample
    for (const series of this.#series) renderOne(series.pairs, series.child)
  }

  // Slow path of labels(): the label set is complete and well typed (checked there), the child is new.
  #create(values: LabelValues<L>): C {
    const names = this.labelNames
    let node = this.#tree
    const pairs: string[] = []
    for (let i = 0; i < names.length; i++) {
      const label = names[i]!
      const key = String(values[label])
      pairs.push(`${label}="${escapeLabelValue(key)}"`)
      if (i === names.length - 1) break
      let next = node.get(key) as Map<string, unknown> | undefined
      if (next === undefined) {
        next = new Map()
        node.set(key, next)
      }
      node = next
    }
    const child = this.createChild()
    node.set(String(values[names[names.length - 1]!]), child)
    this.#series.push({ pairs: pairs.join(','), child })
    return child
  }

  #checkKeys(values: unknown): void {
    if (values === undefined) return
    if (values === null || typeof values !== 'object' || Object.keys(values).length > 0)
      throw this.#labelsError(values)
  }

  #labelsError(values: unknown): MetricsError {
    const expected = this.labelNames.length === 0 ? 'no labels' : `labels ${this.labelNames.join(', ')}`
    let detail = 'values must be an object'
    if (values !== null && typeof values === 'object') {
      const given = values as Record<string, unknown>
      const missing = this.labelNames.find((label) => !Object.hasOwn(given, label))
      const unknown = Object.keys(given).find((key) => !(this.labelNames as readonly string[]).includes(key))
      const badType = this.labelNames.find((label) => {
        const value = given[label]
        return typeof value !== 'string' && typeof value !== 'number'
      })
      if (missing !== undefined) detail = `label ${missing} is missing`
      else if (unknown !== undefined) detail = `label ${unknown} is unknown`
      else if (badType !== undefined) detail = `label ${badType} must be a string or number`
      const label = missing ?? unknown ?? badType
      if (label !== undefined) {
        return new MetricsError('E_INVALID_LABELS', `${this.name} takes ${expected}: ${detail}`, {
          metric: this.name,
          label,
          value: values,
        })
      }
    }
    return new MetricsError('E_INVALID_LABELS', `${this.name} takes ${expected}: ${detail}`, {
      metric: this.name,
      value: values,
    })
  }
}
