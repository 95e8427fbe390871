import { abortedError, ShardError } from '../errors.js'
import { labelOf, loadPg } from '../reshard/pg-admin.js'
import type { SwitchSql } from './switch-tables.js'

/** One dedicated session that LISTENs (a pooled session cannot: LISTEN belongs to its connection). */
export interface ListenClient {
  readonly sql: SwitchSql
  /** `pg_notify(channel, payload)`. */
  notify(channel: string, payload: unknown): Promise<void>
  /** Closes the session; later statements fail. Never throws. */
  close(): Promise<void>
}

/** How `listen` reports. */
export interface ListenHandlers {
  /** A notification on one of the channels, in the order the server sent them. */
  message(channel: string, payload: string | undefined): void
  /** The session broke (or closed by the server); not called after `close()`. */
  lost(error: unknown): void
}

/**
 * Opens a session on `url` that LISTENs on `channels`. Statements time out after `statementMs`
 * (a partitioned server must not hang a heartbeat forever).
 *
 * @example
 * const client = await listen(controlUrl, ['hf_shard_map'], { message, lost }, { signal })
 */
export async function listen(
  url: string,
  channels: readonly string[],
  handlers: ListenHandlers,
  options: { signal?: AbortSignal | undefined; statementMs?: number; applicationName?: string } = {},
): Promise<ListenClient> {
  const { signal } = options
  if (signal?.aborted) throw abortedError(signal)
  const { Client } = await loadPg()
  const timeout = options.statementMs ?? 5000
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    keepAlive: true,
    application_name: options.applicationName ?? 'hundredfold-shard',
  })
  let closed = false
  const lost = (error: unknown) => {
    if (closed) return
    closed = true
    client.end().catch(() => {})
    handlers.lost(error)
  }
  client.on('error', lost)
  client.on('end', () => lost(new Error('the control connection ended')))
  client.on('notification', (n) => {
    if (!closed) handlers.message(n.channel, n.payload)
  })
  const fail = (err: unknown) =>
    new ShardError(
      'E_SHARD_QUERY',
      `${labelOf(url)}: ${(err as Error).message}`,
      { database: labelOf(url) },
      { cause: err },
    )
  try {
    await client.connect()
    for (const channel of channels) await client.query(`LISTEN ${channel}`)
  } catch (err) {
    closed = true
    client.end().catch(() => {})
    throw fail(err)
  }
  // One statement at a time: node-postgres deprecates queueing on a client (heartbeats and protocol
  // steps of a watcher run on their own timers).
  let last: Promise<unknown> = Promise.resolve()
  const sql: SwitchSql = <Row>(text: string, params: readonly unknown[] = []) => {
    const run = last.then(async () => {
      if (closed) throw new ShardError('E_CLOSED', `the control connection to ${labelOf(url)} is closed`)
      try {
        return (await client.query(text, params as unknown[])).rows as Row[]
      } catch (err) {
        throw fail(err)
      }
    })
    last = run.catch(() => {})
    return run
  }
  return {
    sql,
    async notify(channel, payload) {
      await sql('SELECT pg_notify($1, $2)', [channel, JSON.stringify(payload)])
    },
    async close() {
      if (closed) return
      closed = true
      await client.end().catch(() => {})
    },
  }
}
