export { type JetStreamDriverOptions, jetstreamDriver } from './jetstream-driver.js'
