export { type PgliteDriverOptions, pgliteDriver } from './pglite-driver.js'
