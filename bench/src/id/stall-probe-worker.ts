import { spinForGaps } from './stall-gaps.js'

// `node stall-probe-worker.js <durationMs>`: one spin loop in its own process (the probe starts one per core
// under `taskset`), printing its StallFigures as one JSON line.
const durationMs = Number(process.argv[2] ?? '3000')
process.stdout.write(`${JSON.stringify(spinForGaps(durationMs))}\n`)
