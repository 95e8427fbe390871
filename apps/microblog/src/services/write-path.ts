import { QueueError } from '@hundredfold/queue'
import { AppError } from '../domain/app-error.js'
import { timed } from '../request-timing.js'
import type { HomeTimelines } from '../storage/home-timelines.js'
import type { WriteQueue } from '../storage/write-queue.js'
import type { GraphService } from './graph-service.js'
import type { ComposeInput, PostService } from './post-service.js'
import type { CallOptions, Post } from './types.js'

/** A composed post, and whether it was queued (stored later, `202`) or stored already (`201`). */
export interface Composed {
  post: Post
  queued: boolean
}

/** The message a compose publishes: the whole post, so no consumer reads it back from a lagging replica. */
export interface PostMessage {
  v: 1
  post: Post
}

/** The message a follow or unfollow publishes: which edge to reconcile. */
export interface EdgeMessage {
  v: 1
  follower_id: string
  followee_id: string
}

/** How often the backlog is read from the broker. */
const BACKLOG_POLL_MS = 250

/**
 * Compose, follow and unfollow: synchronous (the database, then answer) or, with a queue, through it
 * ("acknowledged" means stored in the stream). Compose then answers `202` as soon as the broker
 * holds the post; follow writes the follower's side and queues the followee's side.
 *
 * Back-pressure: when the timeline consumer's backlog passes `maxBacklog`, compose answers `503
 * E_BACKLOG` with `Retry-After` instead of letting the backlog grow without bound.
 */
export class WritePath {
  readonly #posts: PostService
  readonly #graph: GraphService
  readonly #queue: WriteQueue | undefined
  readonly #homes: HomeTimelines | undefined
  readonly #maxBacklog: number
  #backlog = 0
  #timer: NodeJS.Timeout | undefined
  /** Composes refused for back-pressure, since start. */
  rejected = 0

  constructor(
    posts: PostService,
    graph: GraphService,
    options: { queue?: WriteQueue | undefined; homes?: HomeTimelines | undefined; maxBacklog?: number } = {},
  ) {
    this.#posts = posts
    this.#graph = graph
    this.#queue = options.queue
    this.#homes = options.homes
    this.#maxBacklog = options.maxBacklog ?? 20_000
    if (this.#queue) {
      const consumer = this.#queue.timeline
      const poll = () => {
        consumer.stats().then(
          (stats) => {
            this.#backlog = stats.backlog
          },
          () => {}, // the broker is away: publishes fail on their own; keep the last figure
        )
      }
      poll()
      this.#timer = setInterval(poll, BACKLOG_POLL_MS)
      this.#timer.unref()
    }
  }

  /** Whether writes go through the queue. */
  get queued(): boolean {
    return this.#queue !== undefined
  }

  /** Posts waiting for the timeline consumer, as last read from the broker. */
  get backlog(): number {
    return this.#backlog
  }

  async compose(input: ComposeInput, options: CallOptions = {}): Promise<Composed> {
    const queue = this.#queue
    if (!queue) return { post: await this.#posts.compose(input, options), queued: false }
    if (this.#backlog > this.#maxBacklog) {
      this.rejected++
      throw new AppError('E_BACKLOG', `${this.#backlog} posts are waiting to be stored; retry later`, {
        retryAfterS: Math.min(30, Math.ceil((2 * this.#backlog) / this.#maxBacklog)),
        context: { backlog: this.#backlog, limit: this.#maxBacklog },
      })
    }
    const post = await this.#posts.prepare(input, options)
    const message: PostMessage = { v: 1, post }
    const data = JSON.stringify(message)
    await timed(
      options.timing,
      'queue',
      performance.now(),
      publish(() => queue.posts.publish({ key: post.author_id, id: post.post_id, data }, options.signal)),
    )
    return { post, queued: true }
  }

  async follow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    if (!this.#queue) return this.#graph.follow(followerId, followeeId, options)
    const made = await this.#graph.followFirstHalf(followerId, followeeId, options)
    await this.#edge(followerId, followeeId, options)
    return made
  }

  async unfollow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    if (!this.#queue) return this.#graph.unfollow(followerId, followeeId, options)
    const removed = await this.#graph.unfollowFirstHalf(followerId, followeeId, options)
    await this.#edge(followerId, followeeId, options)
    return removed
  }

  /**
   * Queues the reconcile of an edge even when this call changed nothing: a retry after a failed
   * publish must still deliver it. The follower's home timeline is dropped now (its sources changed)
   * and again by the consumer once the followee's side is written.
   */
  async #edge(followerId: string, followeeId: string, options: CallOptions): Promise<void> {
    const { signal, timing } = options
    if (this.#homes)
      await timed(timing, 'timeline', performance.now(), this.#homes.invalidate([followerId], signal))
    const message: EdgeMessage = { v: 1, follower_id: followerId, followee_id: followeeId }
    const data = JSON.stringify(message)
    await timed(
      timing,
      'queue',
      performance.now(),
      publish(() => this.#queue!.follows.publish({ key: followeeId, data }, signal)),
    )
  }

  close(): void {
    clearInterval(this.#timer)
  }
}

/** How long one request keeps retrying a publish the broker did not acknowledge. */
const PUBLISH_BUDGET_MS = 8000
/** `Retry-After` when the stream is at `HF_QUEUE_MAX_BYTES`: consumers need a while to make room. */
const STREAM_FULL_RETRY_S = 5

/**
 * Publishes, retrying with the same message id while the broker does not acknowledge (a restart, a
 * stall): a publish that timed out may have been stored, and only a retry with the same id inside
 * the duplicate window can tell — the broker then keeps one copy and acknowledges it. Answering 503
 * instead would make the client's retry a second post. The same while a JetStream cluster elects the
 * stream's leader after losing a node. After the budget: 503 E_QUEUE_UNAVAILABLE.
 * A full stream refused the message outright (`E_STREAM_FULL`): 503 E_BACKLOG at once, like back-pressure.
 */
async function publish<T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + PUBLISH_BUDGET_MS
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    try {
      return await send()
    } catch (err) {
      if (!(err instanceof QueueError) || err.code === 'E_ABORTED') throw err
      if (err.code === 'E_STREAM_FULL') {
        // Refused, not stored (discard new): a retry later is safe and cannot make a second copy.
        throw new AppError('E_BACKLOG', 'the write queue is full; retry later', {
          cause: err,
          retryAfterS: STREAM_FULL_RETRY_S,
          context: { limit: err.context['limit'] },
        })
      }
      // E_NO_STREAM: the streams were made at start, so "no responders" here is a JetStream cluster
      // electing the stream's new leader after a node loss (seconds); nothing was stored, a retry is safe.
      const retryable = err.code === 'E_PUBLISH' || err.code === 'E_CONNECT' || err.code === 'E_NO_STREAM'
      if (!retryable || Date.now() + pause >= deadline || signal?.aborted) {
        throw new AppError(
          'E_QUEUE_UNAVAILABLE',
          `the write queue did not acknowledge it (${err.code}); it may still be stored`,
          { cause: err },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}
