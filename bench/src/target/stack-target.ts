import type { TargetRecord } from '../results.js'
import { openStackSession } from './stack-session.js'
import type { Target } from './target.js'

/**
 * `--target stack`: the mix through nginx on the stack of `npm run stack`, started for the run (empty, so
 * the dataset is loaded, and stopped after) unless one is up already, which is used as it is.
 *
 * @example
 * await using target = await openStackTarget({ log: console.error })
 */
export async function openStackTarget(options: {
  dir?: string
  log: (line: string) => void
}): Promise<Target> {
  const session = await openStackSession(options)
  const state = session.state
  const summary: TargetRecord = {
    kind: 'stack',
    base_url: state.frontUrl,
    stores: {
      database: `postgresql primary + ${state.replicaUrls.length} streaming replicas`,
      cache: 'redis',
      home_timelines: 'redis',
    },
    queue: 'jetstream',
    app_processes: state.apps.length,
    consumer_processes: state.consumers.length,
  }
  const pidsOf = (records: ReadonlyArray<{ pid?: number | undefined }>): number[] =>
    records.flatMap((record) => (record.pid === undefined ? [] : [record.pid]))
  return {
    kind: 'stack',
    baseUrl: state.frontUrl,
    pids: pidsOf(state.apps),
    consumerPids: pidsOf(state.consumers),
    summary,
    fresh: session.started,
    settle: (signal, log) => session.settle(signal, log),
    tail: () => '',
    async [Symbol.asyncDispose]() {
      await session[Symbol.asyncDispose]()
    },
  }
}
