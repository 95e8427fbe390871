#!/usr/bin/env node
import { startMiniMicroblog } from './mini-microblog.js'

// Same start-up contract as the app: HF_PORT / HF_HOST in, one "listening on" line out, SIGTERM to stop.
const server = await startMiniMicroblog(Number(process.env.HF_PORT ?? 0), process.env.HF_HOST ?? '127.0.0.1')
process.stdout.write(`synthetic microblog listening on ${server.baseUrl}\n`)
process.once('SIGTERM', () => {
  server[Symbol.asyncDispose]().then(() => process.exit(0))
})
