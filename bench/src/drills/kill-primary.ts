import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { patroniCluster } from '@hundredfold/stack'
import { stackDrill } from './stack-drill.js'
import { probeSyncWrites } from './write-probe.js'

/** How long the drill waits for Patroni to promote a replica before it gives up. */
const PROMOTION_TIMEOUT_MS = 40_000

/**
 * `npm run drill -- kill-primary`: on the `--ha` stack, `kill -9` of the PostgreSQL primary's postmaster
 * and its Patroni (the primary's machine failing) under the mix. Patroni promotes a replica once the
 * leader key expires; the apps find it themselves. Posts wait in JetStream meanwhile; a sign-up every
 * 200 ms (a write the primary commits before it is answered) measures when writes resume. Floors:
 * `writes_resumed_s` ≤ 15 and `acked_writes_lost` = 0. Afterwards the old primary is started again and rejoins as a replica.
 */
export const killPrimary = stackDrill({
  name: 'kill-primary',
  description:
    'kill -9 of the PostgreSQL primary (postmaster and Patroni) of the --ha stack under the mix at half its MST, through nginx',
  ha: true,
  async action(stack, signal, log) {
    const started = performance.now()
    const member = await stack.killPrimary(signal)
    log(`killed the primary ${member} (postmaster and Patroni, SIGKILL)`)
    const [next, probe] = await Promise.all([
      patroniCluster(stack.state).waitForPrimary({
        exclude: [member],
        timeoutMs: PROMOTION_TIMEOUT_MS,
        signal,
      }),
      probeSyncWrites(stack.state.frontUrl, `probe-${randomBytes(3).toString('hex')}`, started, {
        signal,
        timeoutMs: PROMOTION_TIMEOUT_MS + 20_000,
      }),
    ])
    const promoted = (performance.now() - started) / 1000
    log(
      `Patroni promoted ${next.name} after ${promoted.toFixed(1)} s; sign-ups (committed on the primary) resumed after ${probe.resumedS} s`,
    )
    return {
      killed_member: member,
      promoted_member: next.name,
      promoted_s: round(promoted),
      writes_resumed_s: probe.resumedS,
      sync_write_probes: probe.attempts,
      sync_write_probes_failed: probe.failures,
    }
  },
  async restore(stack, _signal, log) {
    log('starting the old primary again: it rejoins as a replica')
    await stack.repair()
  },
  floors: { writes_resumed_s: { max: 15 } },
  metrics: () => ({}),
})

const round = (value: number): number => Math.round(value * 100) / 100
