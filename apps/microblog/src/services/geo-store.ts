import type { Transaction } from '@hundredfold/pg'
import type { Db } from '../storage/measured-db.js'
import type { GeoDialect } from '../storage/schema.js'
import type { CallOptions } from './types.js'

/** A post found near a point. */
export interface NearbyHit {
  post_id: string
  author_id: string
  distance_m: number
}

/** Locations of posts, searched by distance. One implementation per geo dialect. */
export interface GeoStore {
  insert(
    tx: Transaction,
    postId: string,
    authorId: string,
    latitude: number,
    longitude: number,
  ): Promise<void>
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
 * them all: insert `($1 post_id, $2 author_id, $3 latitude, $4 longitude)`, search `($1 latitude,
 * $2 longitude, $3 radius in metres, $4 limit)`.
 */
interface GeoStatements {
  readonly insert: string
  readonly search: string
}

const statements: Record<GeoDialect, GeoStatements> = {
  /** PostGIS: `geography` points, a GiST index, `ST_DWithin` on the spheroid. */
  postgis: {
    insert: `INSERT INTO post_locations (post_id, author_id, location)
             VALUES ($1, $2, ST_SetSRID(ST_MakePoint($4, $3), 4326)::geography) ON CONFLICT (post_id) DO NOTHING`,
    search: `WITH here AS (SELECT ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography AS point)
             SELECT post_id, author_id, ST_Distance(location, here.point) AS distance_m
             FROM post_locations, here
             WHERE ST_DWithin(location, here.point, $3)
             ORDER BY distance_m, post_id DESC LIMIT $4`,
  },
  /** cube + earthdistance (what PGlite ships): a GiST index on `ll_to_earth`, `earth_box` to prune. */
  earthdistance: {
    insert:
      'INSERT INTO post_locations (post_id, author_id, latitude, longitude) VALUES ($1, $2, $3, $4) ON CONFLICT (post_id) DO NOTHING',
    search: `SELECT post_id, author_id, distance_m FROM (
               SELECT post_id, author_id,
                      earth_distance(ll_to_earth(latitude, longitude), ll_to_earth($1, $2)) AS distance_m
               FROM post_locations
               WHERE earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(latitude, longitude)
             ) candidates
             WHERE distance_m <= $3
             ORDER BY distance_m, post_id DESC LIMIT $4`,
  },
}

class SqlGeoStore implements GeoStore {
  constructor(
    readonly db: Db,
    readonly sql: GeoStatements,
  ) {}

  async insert(tx: Transaction, postId: string, authorId: string, latitude: number, longitude: number) {
    await tx.query(this.sql.insert, [postId, authorId, latitude, longitude])
  }

  async search(
    latitude: number,
    longitude: number,
    radiusM: number,
    limit: number,
    options: CallOptions = {},
  ) {
    const { rows } = await this.db.read<NearbyHit>(
      this.sql.search,
      [latitude, longitude, radiusM, limit],
      options,
    )
    return rows
  }
}

export function createGeoStore(db: Db, dialect: GeoDialect): GeoStore {
  return new SqlGeoStore(db, statements[dialect])
}
