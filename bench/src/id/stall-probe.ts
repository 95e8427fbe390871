import { fileURLToPath } from 'node:url'
import { BenchError } from '../errors.js'
import { pinned, runToCompletion } from './pinned-process.js'
import type { StallFigures } from './stall-gaps.js'

export type { StallFigures } from './stall-gaps.js'

const WORKER = fileURLToPath(new URL('./stall-probe-worker.js', import.meta.url))

/** What {@link runStallProbe} measured on one core. */
export interface CoreStalls extends StallFigures {
  /** The core, as given to `taskset -c`. */
  core: string
}

/**
 * How often the machine itself takes the CPU away: a spin loop (see `spinForGaps`) pinned to each of
 * `cores` at once, in child processes under `taskset -c <core>`, for `durationMs` (default 3 s).
 *
 * Why: on a VM a vCPU is a host thread, and the host deschedules it now and then for milliseconds. A request
 * that arrives during such a stall waits it out, whatever the server does, so a sub-millisecond p99 is only
 * meaningful beside how much of the time the cores were not there. The loops run in parallel because the
 * server and the sender run in parallel, and a host may stall one vCPU while the other runs.
 *
 * @example
 * const [core0, core1] = await runStallProbe({ cores: ['0', '1'] }, signal)
 */
export async function runStallProbe(
  options: { cores: readonly string[]; durationMs?: number },
  signal: AbortSignal,
): Promise<CoreStalls[]> {
  const durationMs = options.durationMs ?? 3000
  return Promise.all(
    options.cores.map(async (core) => {
      const [command, argv] = pinned(core, process.execPath, [WORKER, String(durationMs)])
      const stdout = await runToCompletion(command, argv, durationMs + 30_000, signal, 'E_BENCH_LOAD')
      const line = stdout.trim().split('\n').at(-1) ?? ''
      try {
        return { core, ...(JSON.parse(line) as StallFigures) }
      } catch (cause) {
        throw new BenchError('E_BENCH_LOAD', `the stall probe on core ${core} printed no result`, {
          context: { core, stdout },
          cause,
        })
      }
    }),
  )
}

/**
 * The single cores of a `taskset -c` list (`'0'`, `'2,3'`, `'0-3'`), in order and without repeats, so each
 * gets a loop of its own; a list it cannot read is kept whole.
 */
export function coresOf(list: string): string[] {
  const cores: string[] = []
  for (const part of list.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    if (!range) return [list]
    const from = Number(range[1])
    const to = range[2] === undefined ? from : Number(range[2])
    for (let core = from; core <= to; core++) if (!cores.includes(String(core))) cores.push(String(core))
  }
  return cores
}
