#!/usr/bin/env node
import { loadConfig } from './config.js'
import { startMicroblog } from './microblog.js'

/** `npm start`: the microblog in one process, on PGlite under ./data unless HF_DATABASE_URL is set. */
async function main(): Promise<void> {
  const config = loadConfig()
  const blog = await startMicroblog(config)
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`received ${signal}, shutting down\n`)
    const force = setTimeout(() => {
      process.stderr.write('shutdown took longer than 10 s, exiting\n')
      process.exit(1)
    }, 10_000)
    force.unref()
    blog.close().then(
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
      stop('lease loss')
    },
    { once: true },
  )
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  // Only now say where it listens: a supervisor (or a test) may signal the moment it reads this line.
  const where = config.databaseUrl ? blog.database.description : `PGlite in ${config.dataDir}`
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
