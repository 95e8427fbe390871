import type { Suite } from '../../suite.js'
import { workloadSuite } from '../../workload-suite.js'
import { DSB_MIX } from '../../workloads/dsb.js'

/** The same 60/30/10 mix through `/api/v1` with bearer tokens. */
export const apiMixed: Suite = workloadSuite({
  name: 'api-mixed',
  description: 'The DeathStarBench 60/30/10 mix through /api/v1 with bearer tokens (newest page of 10)',
  surface: 'api',
  mix: DSB_MIX,
})
