/** Keys the direct calls cycle through: client addresses, as a per-IP limit sees them. */
export const KEYS = 1000
/** A limit no run reaches, so every take is granted: the path every admitted request pays. */
export const NEVER_REACHED = 1_000_000_000
/** The window of every limiter of the suite, in ms. */
export const WINDOW_MS = 60_000
/** Callers in flight against Redis in the direct calls. */
export const REDIS_CONCURRENCY = 32
/** Requests in flight (one per connection, no pipelining) against a route server. */
export const HTTP_CONNECTIONS = 32
