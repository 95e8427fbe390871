export { type MapWatchEvent, SHARD_CHANNELS } from './switch-events.js'
export { type WatchShardMapOptions, watchShardMapDefaults } from './watch-options.js'
export { ShardMapWatch, watchShardMap } from './watch-shard-map.js'
