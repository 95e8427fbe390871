export { asPgPool } from './as-pg-pool.js'
export { pgDriver } from './pg-driver.js'
export { type PgDriverOptions, pgDriverDefaults } from './pg-driver-options.js'
