import { performance } from 'node:perf_hooks'
import { failed, idempotent } from './drill-load.js'
import { stackDrill } from './stack-drill.js'

/** How long the load runs on with one app dead before the drill brings it back. */
const DEAD_FOR_MS = 10_000

/**
 * `npm run drill -- kill-app`: `kill -9` of one app process under the mix, through nginx. Reads in flight
 * on it and new ones are passed to another app; writes in flight on it fail with a 5xx (nginx never
 * passes on a compose once sent). Floor: `failed_idempotent_requests` = 0; `failed_writes` reported,
 * with how many of them were stored anyway.
 */
export const killApp = stackDrill({
  name: 'kill-app',
  description: 'kill -9 of one app process of the stack under the mix at half its MST, through nginx',
  async action(stack, signal, log) {
    const victim = stack.state.apps[0]
    log(`kill -9 ${victim?.name} (pid ${victim?.pid})`)
    const at = performance.now()
    await stack.killApp(0, 'SIGKILL')
    const left = DEAD_FOR_MS - (performance.now() - at)
    if (left > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, left))
  },
  async restore(stack, _signal, log) {
    log('starting the killed app again')
    await stack.repair()
  },
  floors: { failed_idempotent_requests: { max: 0 } },
  metrics: (load) => ({
    failed_idempotent_requests: load.events.filter((event) => failed(event) && idempotent(event)).length,
  }),
})
