import type { Suite } from '../../suite.js'
import { workloadSuite } from '../../workload-suite.js'

/** Compose-post alone. */
export const dsbCompose: Suite = workloadSuite({
  name: 'dsb-compose',
  description: 'DeathStarBench compose-post alone via /wrk2-api',
  surface: 'wrk2',
  mix: { home: 0, user: 0, compose: 1 },
})
