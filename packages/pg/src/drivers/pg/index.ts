export { type PgDriverOptions, pgDriver } from './pg-driver.js'
