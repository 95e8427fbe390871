export { IdClient, type IdClientOptions } from './id-client.js'
