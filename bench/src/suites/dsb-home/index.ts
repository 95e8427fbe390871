import type { Suite } from '../../suite.js'
import { workloadSuite } from '../../workload-suite.js'

/** Home-timeline reads alone. */
export const dsbHome: Suite = workloadSuite({
  name: 'dsb-home',
  description: 'DeathStarBench home-timeline reads alone via /wrk2-api',
  surface: 'wrk2',
  mix: { home: 1, user: 0, compose: 0 },
})
