#!/usr/bin/env node
import { runCli } from './cli/run-cli.js'

// `hundredfold-shard`: see runCli for the commands. Ctrl-C (or SIGTERM) stops a step through its signal,
// so a cutover not past its point of no return releases the writes it holds.
const controller = new AbortController()
for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => controller.abort(new Error(name)))
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  signal: controller.signal,
})
