#!/usr/bin/env node
import { runCli } from './cli/run-cli.js'

// `hundredfold-shard`: see runCli for the commands.
process.exitCode = await runCli(process.argv.slice(2))
