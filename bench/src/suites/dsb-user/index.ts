import type { Suite } from '../../suite.js'
import { workloadSuite } from '../../workload-suite.js'

/** User-timeline reads alone. */
export const dsbUser: Suite = workloadSuite({
  name: 'dsb-user',
  description: 'DeathStarBench user-timeline reads alone via /wrk2-api',
  surface: 'wrk2',
  mix: { home: 0, user: 1, compose: 0 },
})
