import { type RawLoadOptions, runRawLoad } from './raw-load.js'

// `node raw-load-worker.js '<RawLoadOptions as JSON>'`: one run of the raw sender in its own process
// (`runPinnedRawLoad` starts it under `taskset`, on a core the server does not use); prints the result as one
// JSON line.
const options = JSON.parse(process.argv[2] ?? '{}') as RawLoadOptions
runRawLoad(options).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  },
)
