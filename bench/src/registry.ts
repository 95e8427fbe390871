import type { Suite } from './suite.js'
import { apiMixed } from './suites/api-mixed/index.js'
import { balanceSuite } from './suites/balance/index.js'
import { cacheSuite } from './suites/cache/index.js'
import { ceiling } from './suites/ceiling/index.js'
import { dsbCompose } from './suites/dsb-compose/index.js'
import { dsbHome } from './suites/dsb-home/index.js'
import { dsbMixed } from './suites/dsb-mixed/index.js'
import { dsbUser } from './suites/dsb-user/index.js'
import { guardSuite } from './suites/guard/index.js'
import { idSuite } from './suites/id/index.js'
import { pgSuite } from './suites/pg/index.js'
import { queueSuite } from './suites/queue/index.js'
import { shardSuite } from './suites/shard/index.js'
import { stagesSuite } from './suites/stages/index.js'

/** Every suite `npm run bench -- <name>` can run. Add a suite here to make it runnable and listed. */
export const SUITES: readonly Suite[] = Object.freeze([
  dsbMixed,
  dsbHome,
  dsbUser,
  dsbCompose,
  apiMixed,
  ceiling,
  pgSuite,
  idSuite,
  cacheSuite,
  queueSuite,
  stagesSuite,
  balanceSuite,
  guardSuite,
  shardSuite,
])

/** The suite of that name, or undefined. */
export function findSuite(name: string): Suite | undefined {
  return SUITES.find((suite) => suite.name === name)
}
