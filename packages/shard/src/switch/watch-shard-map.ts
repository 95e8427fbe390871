import { randomBytes } from 'node:crypto'
import type { ShardRouter } from '../router/shard-router.js'
import type { WriteHold } from '../router/write-gate.js'
import { type ListenClient, listen } from './listen-client.js'
import { type MapWatchEvent, mapWatchChannel } from './switch-events.js'
import {
  ACK_CHANNEL,
  ACTIVE_SWITCHES_SQL,
  type AckMessage,
  type ActiveSwitch,
  ensureSwitchTables,
  parseMessage,
  RELEASE_SWITCH_SQL,
  SWITCH_CHANNEL,
  type SwitchMessage,
  switchError,
} from './switch-tables.js'
import { type ResolvedWatchOptions, resolveWatchOptions, type WatchShardMapOptions } from './watch-options.js'

const REGISTER_SQL = `INSERT INTO hf_shard_router (id, name, version, lease_ms) VALUES ($1, $2, $3, $4)
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), version = EXCLUDED.version, lease_ms = EXCLUDED.lease_ms`

/** Both in one statement, so one snapshot: a switch that ended before it has its map in `newest`. */
const SYNC_SQL = `SELECT
  (SELECT coalesce(json_agg(s), '[]'::json) FROM (${ACTIVE_SWITCHES_SQL}) s) AS active,
  (SELECT row_to_json(m) FROM (SELECT version, document FROM hf_shard_map ORDER BY version DESC LIMIT 1) m) AS newest`

/** How often a router held by a switch past its point of no return asks whether it is done. */
const SWITCHING_POLL_MS = 200

interface Joined {
  readonly version: number
  readonly startedAt: number
  hold: WriteHold | undefined
  timer: NodeJS.Timeout | undefined
}

/**
 * Makes a router take part in map switches run by other processes — a resharding's `cutover` and
 * `reverse`, from the CLI or any process — and keeps it on the newest map stored in `hf_shard_map`.
 * Resolves once the router is registered and on the newest map (writes issued meanwhile wait).
 *
 * The router LISTENs on `hf_shard_map` in the control database (database 0 by default), registers in
 * `hf_shard_router` and renews a lease there. On `hold` it holds its writes to the databases named
 * (buffered, not failed), waits for those in flight and acknowledges; on `switch` it loads the new map
 * and releases them to their new homes; on `release` it lets them go on the old map. A router that
 * cannot renew its lease holds its own writes until it is back in touch.
 *
 * @example
 * const router = createShardRouter({ map: await loadShardMap(control) })
 * const watch = await watchShardMap(router, { name: `api-${process.pid}`, signal })
 * // … serve …
 * await watch.stop()
 * await router.end()
 */
export async function watchShardMap(
  router: ShardRouter,
  options: WatchShardMapOptions = {},
): Promise<ShardMapWatch> {
  const watch = new ShardMapWatch(router, resolveWatchOptions(router.map, options))
  await watch.start()
  return watch
}

/** A router's part in the switch protocol, from {@link watchShardMap}. */
export class ShardMapWatch implements AsyncDisposable {
  /** This router's row in `hf_shard_router`. */
  readonly id = randomBytes(6).toString('hex')
  readonly name: string
  readonly #router: ShardRouter
  readonly #options: ResolvedWatchOptions
  #client: ListenClient | undefined
  #generation = 0
  #stopped = false
  #fence: { readonly hold: Promise<WriteHold>; readonly announced: boolean } | undefined
  #fenceTimer: NodeJS.Timeout | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #reconnectTimer: NodeJS.Timeout | undefined
  #reconnectMs = 100
  readonly #switches = new Map<string, Joined>()
  #queue: Promise<unknown> = Promise.resolve()
  readonly #onAbort = () => void this.stop()

  /** @internal Made by `watchShardMap`. */
  constructor(router: ShardRouter, options: ResolvedWatchOptions) {
    this.#router = router
    this.#options = options
    this.name = options.name
  }

  /** Whether the control connection is up. */
  get connected(): boolean {
    return this.#client !== undefined
  }

  /** Whether the router's writes are held for want of a lease (or while it starts). */
  get fenced(): boolean {
    return this.#fence !== undefined
  }

  /** @internal */
  async start(): Promise<void> {
    this.#fenceOn(false)
    try {
      await this.#connect()
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs)
    this.#heartbeatTimer.unref()
    this.#options.signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /**
   * Stops taking part: deregisters (so no cutover waits for it) and lets any held writes go on. Stop it
   * with the router, when it takes no more writes.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#generation++
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    clearInterval(this.#heartbeatTimer)
    clearTimeout(this.#fenceTimer)
    clearTimeout(this.#reconnectTimer)
    for (const joined of this.#switches.values()) {
      clearTimeout(joined.timer)
      joined.hold?.release()
    }
    this.#switches.clear()
    this.#fenceOff()
    const client = this.#client
    this.#client = undefined
    if (client) {
      await client.sql('DELETE FROM hf_shard_router WHERE id = $1', [this.id]).catch(() => {})
      await client.close()
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation
    const client = await listen(
      this.#options.connection,
      [SWITCH_CHANNEL],
      {
        message: (_channel, payload) => {
          const message = parseMessage<SwitchMessage>(payload)
          if (message) void this.#serially(generation, () => this.#onMessage(message))
        },
        lost: (error) => this.#lost(generation, error),
      },
      {
        statementMs: Math.min(5000, this.#options.leaseMs),
        applicationName: `hundredfold-shard watch ${this.name}`.slice(0, 63),
      },
    )
    if (generation !== this.#generation) {
      await client.close()
      return
    }
    this.#client = client
    try {
      await ensureSwitchTables(client.sql)
      await this.#register(client)
      await this.#serially(generation, () => this.#sync(client))
    } catch (err) {
      this.#lost(generation, err)
      throw err
    }
  }

  async #register(client: ListenClient): Promise<void> {
    const sentAt = performance.now()
    await client.sql(REGISTER_SQL, [this.id, this.name, this.#router.map.version, this.#options.leaseMs])
    this.#renewed(sentAt)
  }

  /** Catches up after (re)connecting: the newest map, then any switch under way. */
  async #sync(client: ListenClient): Promise<void> {
    const [row] = await client.sql<{
      active: ActiveSwitch[]
      newest: { version: number; document: unknown } | null
    }>(SYNC_SQL)
    if (row?.newest && row.newest.version > this.#router.map.version) {
      this.#router.useMap(row.newest.document as object)
      this.#emit({ event: 'map' })
    }
    const active = new Set(row?.active.map((s) => s.id))
    // Switches this router held for that ended while it was away: the newest map says how.
    for (const id of [...this.#switches.keys()]) if (!active.has(id)) await this.#finish(id)
    for (const s of row?.active ?? []) await this.#join(s)
    this.#fenceOff()
  }

  async #onMessage(message: SwitchMessage): Promise<void> {
    switch (message.op) {
      case 'ping':
        await this.#ack({ op: 'pong', switch: message.switch })
        return
      case 'hold':
        await this.#join({
          id: message.switch,
          phase: 'holding',
          databases: message.databases,
          version: message.version,
          hold_ms: message.holdMs,
          age_ms: 0,
        })
        return
      case 'switch':
        await this.#switchTo(message.switch, message.version)
        return
      case 'release':
        await this.#finish(message.switch)
    }
  }

  /** Holds the switch's databases, waits for the writes in flight there, and acknowledges. */
  async #join(s: ActiveSwitch): Promise<void> {
    const left = Math.max(1, Math.ceil(s.hold_ms + this.#options.holdGraceMs - s.age_ms))
    const known = this.#switches.get(s.id)
    if (known) {
      // Seen again after a reconnection: its timer may have fired while there was no connection.
      this.#arm(s.id, known, s.phase === 'holding' ? left : 0)
      if (known.hold && s.phase === 'holding') await this.#ack({ op: 'held', switch: s.id })
      return
    }
    const joined: Joined = {
      version: s.version,
      startedAt: performance.now(),
      hold: undefined,
      timer: undefined,
    }
    this.#switches.set(s.id, joined)
    try {
      joined.hold = await this.#router.hold(s.databases, { signal: AbortSignal.timeout(left) })
    } catch {
      // The writes in flight outlasted the hold: the coordinator gives up without this router's ack.
      this.#switches.delete(s.id)
      return
    }
    this.#emit({ event: 'hold', switch: s.id })
    this.#arm(s.id, joined, s.phase === 'holding' ? left - (performance.now() - joined.startedAt) : 0)
    if (s.phase === 'holding') await this.#ack({ op: 'held', switch: s.id })
  }

  #arm(id: string, joined: Joined, ms: number): void {
    clearTimeout(joined.timer)
    joined.timer = setTimeout(() => void this.#serially(this.#generation, () => this.#expire(id)), ms)
    joined.timer.unref()
  }

  /**
   * A hold outlived its time: the coordinator is gone. Gives the switch up unless it passed its point
   * of no return; then waits (holding) until it is switched.
   */
  async #expire(id: string): Promise<void> {
    const client = this.#client
    const joined = this.#switches.get(id)
    if (!client || !joined) return
    await client.sql(RELEASE_SWITCH_SQL, [id])
    const [row] = await client.sql<{ phase: string; version: number }>(
      'SELECT phase, version FROM hf_shard_switch WHERE id = $1',
      [id],
    )
    if (row?.phase === 'switched') await this.#switchTo(id, row.version)
    else if (row?.phase === 'switching') this.#arm(id, joined, SWITCHING_POLL_MS)
    else await this.#finish(id)
  }

  async #switchTo(id: string, version: number): Promise<void> {
    if (version > this.#router.map.version) {
      const client = this.#client
      if (!client) throw switchError(`switch ${id}: no control connection to load map ${version} from`)
      const [row] = await client.sql<{ document: object }>(
        'SELECT document FROM hf_shard_map WHERE version = $1',
        [version],
      )
      if (!row) throw switchError(`switch ${id}: map version ${version} is not in hf_shard_map`)
      this.#router.useMap(row.document)
    }
    await this.#finish(id)
  }

  /** Lets a switch's held writes go on (on whatever map the router has now) and says so. */
  async #finish(id: string): Promise<void> {
    const joined = this.#switches.get(id)
    if (!joined) return
    this.#switches.delete(id)
    clearTimeout(joined.timer)
    joined.hold?.release()
    const switched = this.#router.map.version >= joined.version
    const figures = {
      pauseMs: performance.now() - joined.startedAt,
      bufferedWrites: joined.hold?.buffered ?? 0,
    }
    this.#emit({ event: switched ? 'switch' : 'release', switch: id, ...figures })
    await this.#ack({ op: switched ? 'switched' : 'released', switch: id, ...figures })
  }

  async #ack(ack: Omit<AckMessage, 'router' | 'name' | 'version'>): Promise<void> {
    const message: AckMessage = {
      ...ack,
      router: this.id,
      name: this.name,
      version: this.#router.map.version,
    }
    // A lost acknowledgement only makes the coordinator give up (or report this router unconfirmed).
    await this.#client?.notify(ACK_CHANNEL, message).catch(() => {})
  }

  async #heartbeat(): Promise<void> {
    const client = this.#client
    if (!client || this.#stopped) return
    const generation = this.#generation
    try {
      await this.#register(client)
    } catch (err) {
      this.#lost(generation, err)
    }
  }

  /** A renewal sent at `sentAt` succeeded: the lease runs until then + leaseMs on the server's side. */
  #renewed(sentAt: number): void {
    clearTimeout(this.#fenceTimer)
    const left = sentAt + this.#options.leaseMs - this.#options.heartbeatMs - performance.now()
    this.#fenceTimer = setTimeout(() => {
      this.#fenceOn(true)
      this.#lost(this.#generation, switchError('the lease could not be renewed in time', 'lease'))
    }, left)
    this.#fenceTimer.unref()
  }

  /** Holds every write of the router (its lease may run out: a cutover could go on without it). */
  #fenceOn(announce: boolean): void {
    if (this.#fence || this.#stopped) return
    const hold = this.#router.hold(this.#router.map.databases.map((d) => d.index))
    this.#fence = { hold, announced: announce }
    if (announce) this.#emit({ event: 'fenced' })
  }

  #fenceOff(): void {
    const fence = this.#fence
    if (!fence) return
    this.#fence = undefined
    void fence.hold.then((hold) => hold.release())
    if (fence.announced) this.#emit({ event: 'unfenced' })
  }

  #lost(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#stopped) return
    this.#generation++
    const client = this.#client
    this.#client = undefined
    void client?.close()
    this.#emit({ event: 'lost', error })
    this.#reconnect()
  }

  #reconnect(): void {
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped) return
      this.#connect().then(
        () => {
          this.#reconnectMs = 100
        },
        () => {
          this.#reconnectMs = Math.min(this.#reconnectMs * 2, 2000)
          if (!this.#client) this.#reconnect()
        },
      )
    }, this.#reconnectMs)
    this.#reconnectTimer.unref()
  }

  /** Runs protocol steps one at a time, in arrival order; steps of an old connection are dropped. */
  #serially(generation: number, step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (generation === this.#generation ? step() : undefined))
    this.#queue = run.catch((error: unknown) => {
      this.#emit({ event: 'lost', error })
      this.#lost(generation, error)
    })
    return run
  }

  #emit(event: Omit<MapWatchEvent, 'router' | 'name' | 'version'>): void {
    if (mapWatchChannel.hasSubscribers) {
      mapWatchChannel.publish({
        ...event,
        router: this.id,
        name: this.name,
        version: this.#router.map.version,
      } satisfies MapWatchEvent)
    }
  }
}
