import * as diagnostics from 'node:diagnostics_channel'

/**
 * `diagnostics_channel` names this package publishes on. Subscribe to observe without a logger:
 *
 * - `hundredfold:shard:map-watch` {@link MapWatchEvent} — a watching router joined a switch, switched,
 *   released, held its own writes for want of a lease, or lost its control connection.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(SHARD_CHANNELS.mapWatch, (event) => log.info(event, 'shard map watch'))
 */
export const SHARD_CHANNELS = Object.freeze({
  mapWatch: 'hundredfold:shard:map-watch',
})

/** What `hundredfold:shard:map-watch` carries. */
export interface MapWatchEvent {
  /** The watch's id (its row in `hf_shard_router`) and name. */
  readonly router: string
  readonly name: string
  /**
   * `hold`: a switch holds the router's writes; `switch`: it moved to a new map and released them;
   * `release`: the switch was given up, writes go on on the old map; `map`: a newer stored map was
   * loaded at (re)connection; `fenced` / `unfenced`: writes held because the lease could not be
   * renewed, and let go again; `lost`: the control connection broke (it reconnects).
   */
  readonly event: 'hold' | 'switch' | 'release' | 'map' | 'fenced' | 'unfenced' | 'lost'
  /** The map version in use after the event. */
  readonly version: number
  readonly switch?: string
  /** `switch`, `release`: how long the writes were held, and how many waited. */
  readonly pauseMs?: number
  readonly bufferedWrites?: number
  readonly error?: unknown
}

/** @internal */
export const mapWatchChannel = diagnostics.channel(SHARD_CHANNELS.mapWatch)
