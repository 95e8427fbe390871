import type { GeoDialect } from '../storage/schema.js'
import type { Store, TxStatements } from '../storage/store.js'
import type { CallOptions, Post } from './types.js'

/** A post found near a point. */
export interface NearbyHit {
  post_id: string
  author_id: string
  distance_m: number
}

/** Locations of posts, searched by distance. One implementation per geo dialect. */
export interface GeoStore {
  /** Stores the posts' locations (posts without one are skipped); a location already stored stays. */
  insert(tx: TxStatements, posts: readonly Post[]): Promise<void>
  /** Posts within `radiusM` metres of the point, nearest first (newest first on ties). */
  search(
    latitude: number,
    longitude: number,
    radiusM: number,
    limit: number,
    options?: CallOptions,
  ): Promise<NearbyHit[]>
}

/**
 * The two statements of one geo dialect. Every dialect takes the same parameters, so one store runs
 * them all: insert `($1 post_ids, $2 author_ids, $3 latitudes, $4 longitudes)` (arrays), search
 * `($1 latitude, $2 longitude, $3 radius in metres, $4 limit)`.
 */
interface GeoStatements {
  readonly insert: string
  readonly search: string
}

const statements: Record<GeoDialect, GeoStatements> = {
  /** PostGIS: `geography` points, a GiST index, `ST_DWithin` on the spheroid. */
  postgis: {
    insert: `INSERT INTO {post_locations} (post_id, author_id, location)
             SELECT p, a, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography
             FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[]) AS t(p, a, lat, lon)
             ON CONFLICT (post_id) DO NOTHING`,
    search: `WITH here AS (SELECT ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography AS point)
             SELECT post_id, author_id, ST_Distance(location, here.point) AS distance_m
             FROM {post_locations}, here
             WHERE ST_DWithin(location, here.point, $3)
             ORDER BY distance_m, post_id DESC LIMIT $4`,
  },
  /** cube + earthdistance (what PGlite ships): a GiST index on `ll_to_earth`, `earth_box` to prune. */
  earthdistance: {
    insert: `INSERT INTO {post_locations} (post_id, author_id, latitude, longitude)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[])
             ON CONFLICT (post_id) DO NOTHING`,
    search: `SELECT post_id, author_id, distance_m FROM (
               SELECT post_id, author_id,
                      earth_distance(ll_to_earth(latitude, longitude), ll_to_earth($1, $2)) AS distance_m
               FROM {post_locations}
               WHERE earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(latitude, longitude)
             ) candidates
             WHERE distance_m <= $3
             ORDER BY distance_m, post_id DESC LIMIT $4`,
  },
}

class SqlGeoStore implements GeoStore {
  constructor(
    readonly db: Store,
    readonly sql: GeoStatements,
  ) {}

  async insert(tx: TxStatements, posts: readonly Post[]) {
    const located = posts.filter((p) => p.latitude !== null && p.longitude !== null)
    if (located.length === 0) return
    await tx.query(this.sql.insert, [
      located.map((p) => p.post_id),
      located.map((p) => p.author_id),
      located.map((p) => p.latitude),
      located.map((p) => p.longitude),
    ])
  }

  /** Each shard's nearest `limit`, merged: nearest first, newest first on ties. */
  async search(
    latitude: number,
    longitude: number,
    radiusM: number,
    limit: number,
    options: CallOptions = {},
  ) {
    const params = [latitude, longitude, radiusM, limit]
    const parts = await Promise.all(
      this.db
        .everywhere('post_locations')
        .map((shard) => shard.read<NearbyHit>(this.sql.search, params, options)),
    )
    if (parts.length === 1) return parts[0]!.rows
    return parts
      .flatMap((part) => part.rows)
      .sort((a, b) => a.distance_m - b.distance_m || newestFirst(a.post_id, b.post_id))
      .slice(0, limit)
  }
}

function newestFirst(a: string, b: string): number {
  if (a.length !== b.length) return b.length - a.length
  return a < b ? 1 : a > b ? -1 : 0
}

export function createGeoStore(db: Store, dialect: GeoDialect): GeoStore {
  return new SqlGeoStore(db, statements[dialect])
}
