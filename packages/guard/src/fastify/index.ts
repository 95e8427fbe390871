// Loaded first: without fastify installed, importing this entry fails here with E_PEER_MISSING.
import './load-fastify.js'

export {
  type GuardDecoration,
  type GuardPluginStats,
  guardPlugin,
} from './guard-plugin.js'
export {
  type GuardPluginOptions,
  type GuardRouteConfig,
  guardPluginDefaults,
  type RateLimiterLike,
  type RouteRateLimit,
} from './guard-plugin-options.js'
export {
  GUARD_PROBLEMS,
  type GuardProblem,
  guardProblem,
  PROBLEM_CONTENT_TYPE,
  problemForGuardError,
} from './problem.js'
