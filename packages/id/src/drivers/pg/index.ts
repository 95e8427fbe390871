export { PgLeaseStore, type PgLeaseStoreOptions, type PgQueryable, pgLeaseStore } from './pg-lease-store.js'
