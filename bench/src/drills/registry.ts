import { canaryBad } from './canary-bad.js'
import type { Drill } from './drill.js'
import { killApp } from './kill-app.js'
import { killIdService } from './kill-id-service.js'
import { killNatsNode } from './kill-nats-node.js'
import { killPrimary } from './kill-primary.js'
import { killRedis } from './kill-redis.js'
import { killVipHolder } from './kill-vip-holder.js'
import { lagReplica } from './lag-replica.js'
import { overload } from './overload/index.js'
import { partitionReplica } from './partition-replica.js'
import { rollingRestart } from './rolling-restart.js'

/** Every drill `npm run drill -- <name>` can run. */
export const DRILLS: readonly Drill[] = Object.freeze([
  rollingRestart,
  killApp,
  killPrimary,
  killVipHolder,
  killRedis,
  killIdService,
  killNatsNode,
  lagReplica,
  partitionReplica,
  overload,
  canaryBad,
])

export function findDrill(name: string): Drill | undefined {
  return DRILLS.find((drill) => drill.name === name)
}
