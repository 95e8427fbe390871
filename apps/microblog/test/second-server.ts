import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://postgres@127.0.0.1:<port>`: a second PostgreSQL server, for sharded layouts over two servers. */
    secondServerUrl: string
  }
}

let server: ReplicaSet | undefined

/**
 * Vitest's global setup: a second PostgreSQL server (initdb on a free port, as the `postgres` OS user)
 * for the whole run, so sharded layouts spread over two servers; stopped and removed after the run.
 */
export async function setup(project: TestProject): Promise<void> {
  server = await startReplicaSet({ replicas: 0, settings: { max_connections: '300' } })
  const url = new URL(server.primary.url)
  url.pathname = ''
  project.provide('secondServerUrl', url.toString().replace(/\/$/, ''))
}

export async function teardown(): Promise<void> {
  await server?.destroy()
}
