/** How locations are stored and searched: PostGIS on a server, cube + earthdistance on PGlite. */
export type GeoDialect = 'postgis' | 'earthdistance'

/**
 * The schema, keyed for sharding from the start: every table's first key column is its shard key
 * (users by user id; the username and external-id lookups by what they look up; following by
 * follower, followers by followee; posts by author; mentions by the mentioned user). Locations
 * live in their own table, searched by geography rather than by user.
 */
const tables: Readonly<Record<string, string>> = {
  users: `
CREATE TABLE IF NOT EXISTS {users} (
  user_id       bigint PRIMARY KEY,
  username      text NOT NULL,
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  external_id   bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  token_version integer NOT NULL DEFAULT 0
);
ALTER TABLE {users} ADD COLUMN IF NOT EXISTS token_version integer NOT NULL DEFAULT 0`,
  usernames: `
CREATE TABLE IF NOT EXISTS {usernames} (
  username text PRIMARY KEY,
  user_id  bigint NOT NULL
)`,
  user_external_ids: `
CREATE TABLE IF NOT EXISTS {user_external_ids} (
  external_id bigint PRIMARY KEY,
  user_id     bigint NOT NULL
)`,
  user_counters: `
CREATE TABLE IF NOT EXISTS {user_counters} (
  user_id   bigint PRIMARY KEY,
  followers bigint NOT NULL DEFAULT 0,
  following bigint NOT NULL DEFAULT 0,
  posts     bigint NOT NULL DEFAULT 0
)`,
  following: `
CREATE TABLE IF NOT EXISTS {following} (
  follower_id bigint NOT NULL,
  followee_id bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (follower_id, followee_id)
)`,
  followers: `
CREATE TABLE IF NOT EXISTS {followers} (
  followee_id bigint NOT NULL,
  follower_id bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (followee_id, follower_id)
)`,
  posts: `
CREATE TABLE IF NOT EXISTS {posts} (
  author_id  bigint NOT NULL,
  post_id    bigint NOT NULL,
  req_id     bigint NOT NULL,
  post_type  integer NOT NULL DEFAULT 0,
  text       text NOT NULL,
  mentions   jsonb NOT NULL DEFAULT '[]',
  urls       jsonb NOT NULL DEFAULT '[]',
  media      jsonb NOT NULL DEFAULT '[]',
  latitude   double precision,
  longitude  double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (author_id, post_id)
)`,
  mentions: `
CREATE TABLE IF NOT EXISTS {mentions} (
  user_id   bigint NOT NULL,
  post_id   bigint NOT NULL,
  author_id bigint NOT NULL,
  PRIMARY KEY (user_id, post_id)
)`,
  app_secrets: `
CREATE TABLE IF NOT EXISTS {app_secrets} (
  name  text PRIMARY KEY,
  value text NOT NULL
)`,
}

/** The extensions each geo dialect needs (once per database). */
const extensions: Record<GeoDialect, string> = {
  postgis: 'CREATE EXTENSION IF NOT EXISTS postgis',
  earthdistance: 'CREATE EXTENSION IF NOT EXISTS cube;\nCREATE EXTENSION IF NOT EXISTS earthdistance',
}

/** `post_locations` and its index (named by the caller: one name per database). */
const locations: Record<GeoDialect, (index: string) => string> = {
  postgis: (index) => `
CREATE TABLE IF NOT EXISTS {post_locations} (
  post_id    bigint PRIMARY KEY,
  author_id  bigint NOT NULL,
  location   geography(Point, 4326) NOT NULL
);
CREATE INDEX ${index} ON {post_locations} USING gist (location)`,
  earthdistance: (index) => `
CREATE TABLE IF NOT EXISTS {post_locations} (
  post_id    bigint PRIMARY KEY,
  author_id  bigint NOT NULL,
  latitude   double precision NOT NULL,
  longitude  double precision NOT NULL
);
CREATE INDEX ${index} ON {post_locations} USING gist (ll_to_earth(latitude, longitude))`,
}

/** The whole schema of one database for one geo dialect; every statement is idempotent. */
export function schemaSql(dialect: GeoDialect): string {
  const all = [
    extensions[dialect],
    ...Object.values(tables),
    locations[dialect]('IF NOT EXISTS post_locations_location'),
  ]
  return `${all.join(';\n').replace(/\{([a-z_]+)\}/g, '$1')};\n`
}

/**
 * The schema as migrations of `@hundredfold/shard`, for a sharded layout: the extension once per
 * database, then each table on every physical table of it (indexes named by PostgreSQL, one per
 * physical table). Names are recorded per shard: never rename one that has run.
 */
export function shardMigrations(dialect: GeoDialect): Array<{ name: string; sql: string }> {
  return [
    { name: `000_${dialect}`, sql: extensions[dialect] },
    ...Object.entries(tables).map(([table, sql], i) => ({
      name: `${String(i + 1).padStart(3, '0')}_${table}`,
      sql: sql.trim(),
    })),
    { name: '100_post_locations', sql: locations[dialect]('').trim() },
  ]
}
