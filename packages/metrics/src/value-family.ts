import { braces, formatValue } from './exposition.js'
import { MetricFamily } from './metric-family.js'

/** One series that holds a single number: what {@link CounterChild} and {@link GaugeChild} share. */
export abstract class ValueChild {
  /** The metric's name, for error messages. */
  protected readonly metric: string
  protected current = 0

  /** @internal */
  constructor(metric: string) {
    this.metric = metric
  }

  /** The current value. */
  get value(): number {
    return this.current
  }
}

/** A family of single-number series (counter, gauge): one line `name{labels} value` per series. */
export abstract class ValueFamily<L extends string, C extends ValueChild> extends MetricFamily<L, C> {
  /** The value of a metric without labels. */
  get value(): number {
    return this.root.value
  }

  protected renderSeries(pairs: string, child: C, out: string[]): void {
    out.push(`${this.name}${braces(pairs)} ${formatValue(child.value)}`)
  }
}
