import type { Suite } from '../../suite.js'
import { workloadSuite } from '../../workload-suite.js'
import { DSB_MIX } from '../../workloads/dsb.js'

/** DeathStarBench socialNetwork's mixed workload against `/wrk2-api`: 60% home, 30% user timeline, 10% compose. */
export const dsbMixed: Suite = workloadSuite({
  name: 'dsb-mixed',
  description:
    'DeathStarBench socialNetwork mix via /wrk2-api: 60% home-timeline, 30% user-timeline, 10% compose',
  surface: 'wrk2',
  mix: DSB_MIX,
})
