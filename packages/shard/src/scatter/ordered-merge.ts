import { ShardError } from '../errors.js'
import { fanOut } from './fan-out.js'
import { BinaryHeap } from './heap.js'
import { keyColumn, pageStatement } from './keyset-sql.js'
import { compareOrderKeys, type OrderByColumn, type OrderKey, parseOrderKey } from './order-key.js'
import { queryShard } from './query-shard.js'
import type { ScatterHooks, ScatterTarget } from './target.js'

/** A row as the merge holds it: the caller's columns, and its order-by key (text and parsed). @internal */
export interface MergedRow {
  readonly row: Record<string, unknown>
  readonly texts: readonly string[]
  readonly keys: readonly OrderKey[]
  readonly label: string
}

/** What an {@link OrderedMerge} reads. @internal */
export interface OrderedMergeSpec {
  readonly sql: string
  readonly params: readonly unknown[]
  readonly orderBy: readonly OrderByColumn[]
  /** Rows asked of a shard at a time. */
  readonly pageSize: number
  /** Start strictly after this key (a cursor's), or at the beginning. */
  readonly after: readonly string[] | undefined
  readonly maxConcurrency: number
  readonly hooks: ScatterHooks
}

/** One shard's sorted stream: the page in hand, and where to ask from next. */
interface ShardStream {
  readonly target: ScatterTarget
  page: MergedRow[]
  position: number
  /** The last row received: the next page starts after it, and it stands in for the next row. */
  last: MergedRow | undefined
  /** False once a page came back short: the shard has nothing after it. */
  more: boolean
}

/**
 * A streaming k-way merge of shards' sorted row streams: a binary heap keyed by each shard's next
 * row. A shard whose page is used up stays in the heap under its last row's key — a lower bound of
 * whatever comes next — and its next page is fetched only when that bound reaches the top, i.e. only
 * when the merge cannot decide without it. A `LIMIT 10` over 16 shards thus reads one page of ≤ 10
 * rows from each shard and nothing more.
 *
 * Every row must sort strictly after the one before it, within a shard and across shards; a tie
 * means the order is not total (the last order-by column is not unique) or a shard sorts
 * differently, and fails with `E_INVALID_OPTION` rather than skip or repeat rows on the next page.
 *
 * @example
 * const merge = new OrderedMerge(targets, spec, signal)
 * await merge.start()
 * for (let row = await merge.next(); row; row = await merge.next()) use(row.row)
 * @internal
 */
export class OrderedMerge {
  readonly #targets: readonly ScatterTarget[]
  readonly #spec: OrderedMergeSpec
  readonly #signal: AbortSignal
  readonly #heap: BinaryHeap<ShardStream>
  readonly #hidden: Set<string>
  #previous: MergedRow | undefined

  constructor(targets: readonly ScatterTarget[], spec: OrderedMergeSpec, signal: AbortSignal) {
    this.#targets = targets
    this.#spec = spec
    this.#signal = signal
    this.#heap = new BinaryHeap((a, b) => this.#compareStreams(a, b))
    this.#hidden = new Set(spec.orderBy.map((_, i) => keyColumn(i)))
  }

  /** Fetches every shard's first page, `maxConcurrency` at a time. */
  async start(): Promise<void> {
    const streams = await fanOut(
      this.#targets,
      this.#spec.maxConcurrency,
      this.#signal,
      async (target, _, signal) => {
        const stream: ShardStream = { target, page: [], position: 0, last: undefined, more: true }
        await this.#fetch(stream, signal)
        return stream
      },
    )
    for (const stream of streams) if (stream.page.length > 0) this.#heap.push(stream)
  }

  /** True while some shard may still have rows. */
  get more(): boolean {
    return this.#heap.size > 0
  }

  /** The next row in the merged order, or `undefined` when every shard is exhausted. */
  async next(): Promise<MergedRow | undefined> {
    for (;;) {
      const stream = this.#heap.peek()
      if (stream === undefined) return undefined
      if (stream.position === stream.page.length) {
        // Its bound is the smallest: nothing can be decided without the shard's next page.
        await this.#fetch(stream, this.#signal)
        if (stream.page.length === 0) this.#heap.pop()
        else this.#heap.topChanged()
        continue
      }
      const row = stream.page[stream.position++]!
      if (stream.position === stream.page.length && !stream.more) this.#heap.pop()
      else this.#heap.topChanged()
      if (this.#previous && compareOrderKeys(this.#spec.orderBy, this.#previous.keys, row.keys) >= 0) {
        throw notTotal(`rows of ${this.#previous.label} and ${row.label} tie or disagree on options.orderBy`)
      }
      this.#previous = row
      return row
    }
  }

  async #fetch(stream: ShardStream, signal: AbortSignal): Promise<void> {
    const { sql, params, orderBy, pageSize } = this.#spec
    const after = stream.last?.texts ?? this.#spec.after
    const statement = pageStatement(sql, params, orderBy, after, pageSize)
    const raw = await queryShard(stream.target, statement.sql, statement.params, signal, this.#spec.hooks)
    const page = raw.map((row) => this.#read(stream.target, row))
    for (let i = 0; i < page.length; i++) {
      const before = i === 0 ? stream.last : page[i - 1]
      if (before && compareOrderKeys(orderBy, before.keys, page[i]!.keys) >= 0) {
        throw notTotal(
          `shard ${stream.target.label} returned rows that tie or are out of order on options.orderBy`,
        )
      }
    }
    stream.page = page
    stream.position = 0
    stream.more = raw.length >= pageSize
    if (page.length > 0) stream.last = page[page.length - 1]
  }

  #read(target: ScatterTarget, raw: Record<string, unknown>): MergedRow {
    const texts: string[] = []
    const keys: OrderKey[] = []
    this.#spec.orderBy.forEach((column, i) => {
      const text = raw[keyColumn(i)]
      const key = typeof text === 'string' ? parseOrderKey(column.type, text) : undefined
      if (key === undefined) {
        const what = text === null || text === undefined ? 'NULL' : JSON.stringify(text)
        throw new ShardError(
          'E_INVALID_OPTION',
          `shard ${target.label} returned ${what} for options.orderBy[${i}] (${column.column}, ${column.type}); order-by columns must be NOT NULL and of their type`,
          {
            option: `options.orderBy[${i}]`,
            database: target.database,
            physicalTable: target.table,
            value: text,
          },
        )
      }
      texts.push(text as string)
      keys.push(key)
    })
    const row: Record<string, unknown> = {}
    for (const name of Object.keys(raw)) if (!this.#hidden.has(name)) row[name] = raw[name]
    return { row, texts, keys, label: target.label }
  }

  #compareStreams(a: ShardStream, b: ShardStream): number {
    const headA = a.page[a.position] ?? a.last!
    const headB = b.page[b.position] ?? b.last!
    const order = compareOrderKeys(this.#spec.orderBy, headA.keys, headB.keys)
    if (order !== 0) return order
    // A used-up page stands for "just after its last row": fetch it before deciding the tie.
    return (b.position === b.page.length ? 1 : 0) - (a.position === a.page.length ? 1 : 0)
  }
}

function notTotal(message: string): ShardError {
  return new ShardError(
    'E_INVALID_OPTION',
    `${message}: the shards must sort as the merge does, and the last order-by column must be unique across all shards`,
    { option: 'options.orderBy' },
  )
}
