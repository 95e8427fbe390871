#!/usr/bin/env node
import { loadConfig } from './config.js'
import { startMicroblog } from './microblog.js'

/** `npm start`: the microblog in one process, on PGlite under ./data unless HF_DATABASE_URL is set. */
async function main(): Promise<void> {
  const config = loadConfig()
  const drainMs = config.drainMs
  const blog = await startMicroblog(config)
  let stopping = false
  const stop = (signal: string, drain: boolean) => {
    if (stopping) return
    stopping = true
    const window = drain ? drainMs : 0
    process.stdout.write(
      `received ${signal}, shutting down${window > 0 ? ` (readiness 503, draining for ${window} ms)` : ''}\n`,
    )
    const force = setTimeout(() => {
      process.stderr.write('shutdown took longer than 10 s after the drain, exiting\n')
      process.exit(1)
    }, window + 10_000)
    force.unref()
    blog.close({ drainMs: window }).then(
      () => {
        process.stdout.write('stopped\n')
        process.exit(process.exitCode ?? 0)
      },
      (err: unknown) => {
        process.stderr.write(`error while shutting down: ${String(err)}\n`)
        process.exit(1)
      },
    )
  }
  blog.fatal.addEventListener(
    'abort',
    () => {
      process.stderr.write(
        `worker-id lease lost (${String(blog.fatal.reason)}): stopping so no id can repeat\n`,
      )
      process.exitCode = 1
      // No drain: without its lease the process must not issue another id.
      stop('lease loss', false)
    },
    { once: true },
  )
  process.once('SIGINT', () => stop('SIGINT', true))
  process.once('SIGTERM', () => stop('SIGTERM', true))
  // Only now say where it listens: a supervisor (or a test) may signal the moment it reads this line.
  const where =
    config.databaseUrl || config.databaseHosts.length > 0
      ? blog.database.description
      : `PGlite in ${config.dataDir}`
  const wrk2 = config.wrk2Api ? '; /wrk2-api is mounted and UNAUTHENTICATED' : ''
  process.stdout.write(
    `microblog listening on ${blog.url} (database: ${where}, worker id ${blog.workerId}${wrk2})\n`,
  )
}

main().catch((err: unknown) => {
  const code = (err as { code?: string }).code
  process.stderr.write(
    `microblog failed to start${code ? ` (${code})` : ''}: ${(err as Error).message ?? err}\n`,
  )
  process.exit(1)
})
