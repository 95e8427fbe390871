import type { FastifyInstance } from 'fastify'
import type { MicroblogConfig } from './config.js'
import { buildApp } from './http/app.js'
import { createServices, type Services } from './services/index.js'
import { type Database, openDatabase } from './storage/database.js'

/** A running microblog: its address, and how to stop it. */
export interface Microblog {
  readonly url: string
  readonly app: FastifyInstance
  readonly database: Database
  readonly services: Services
  /** Stops accepting, finishes requests in flight, then closes the database. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Opens the database (applying the schema), wires the services, and listens.
 *
 * @example
 * const blog = await startMicroblog(loadConfig({ HF_PORT: '0' }))
 * console.log(blog.url)
 * await blog.close()
 */
export async function startMicroblog(config: MicroblogConfig, signal?: AbortSignal): Promise<Microblog> {
  const database = await openDatabase(config, signal)
  let closing = false
  let app: FastifyInstance | undefined
  try {
    const services = await createServices(database.cluster, {
      geo: database.geo,
      workerId: config.workerId,
      tokenTtlSeconds: config.tokenTtlSeconds,
      ...(signal ? { signal } : {}),
    })
    app = buildApp({ config, database, services, isClosing: () => closing })
    const url = await app.listen({ host: config.host, port: config.port })
    let closed: Promise<void> | undefined
    return {
      url,
      app,
      database,
      services,
      close() {
        closing = true
        closed ??= (async () => {
          await app!.close()
          database.maintain?.stop()
          await database.cluster.end()
        })()
        return closed
      },
    }
  } catch (err) {
    await app?.close().catch(() => {})
    await database.cluster.end()
    throw err
  }
}
