import { ConfigError, flagOr, integer } from './config-values.js'

/** A rate: `limit` requests per `windowMs`. */
export interface RateRule {
  limit: number
  windowMs: number
}

/** The availability guards of the HTTP edge and the compose path (`HF_GUARD*`, `HF_*_LIMIT_*`, `HF_ANTISPAM*`). */
export interface GuardConfig {
  /**
   * `HF_GUARD_CONCURRENCY`: the inbound concurrency limit, shedding the excess at once with 503
   * `E_CONCURRENCY_LIMITED` before any work: `vegas` (finds the limit itself from the queue it sees
   * over the no-load RTT), `gradient2`, a fixed number, or `off`. Health, readiness and metrics are
   * never limited. @default vegas
   */
  concurrency: 'gradient2' | 'vegas' | 'off' | number
  /** `HF_GUARD_CONCURRENCY_MAX`: the most requests in flight an adaptive limit may reach (≥ 64, where it starts). @default 256 */
  concurrencyMax: number
  /**
   * `HF_GUARD_MAX_LOOP_DELAY_MS`: also shed (503 `E_CONCURRENCY_LIMITED`, reason `event-loop-delay`)
   * while the event loop's smoothed delay is above this: the wait before a request's code runs, which
   * a concurrency limit cannot see. `npm run stack` and the bench set 15. @default off (the embedded
   * database runs its queries on the event loop itself, and a test machine's loop is late for reasons
   * not the app's)
   */
  maxLoopDelayMs: number | undefined
  /** `HF_LOGIN_LIMIT_IP`: sign-ins per client address, as `<n>/<window>` (`30/1m`) or `off`. @default 30/1m */
  loginPerIp: RateRule | undefined
  /** `HF_LOGIN_LIMIT_USER`: sign-ins per username, whoever tries. @default 10/5m */
  loginPerUser: RateRule | undefined
  /** `HF_REGISTER_LIMIT_IP`: registrations per client address. @default 10/1m */
  registerPerIp: RateRule | undefined
  /**
   * `HF_TRUST_PROXY`: addresses of the proxy in front (comma-separated, or `loopback`), whose
   * `X-Forwarded-For` then names the client the per-address limits key on. @default none
   */
  trustProxy: string | undefined
  /** `HF_PASSWORD_HASH_QUEUE`: sign-ins and registrations that may wait for a password hash; the next gets 503. @default 64 */
  passwordHashQueue: number
  /** `HF_ANTISPAM=off`: no antispam check on compose. @default on */
  antispam: boolean
  /** `HF_ANTISPAM_THREADS`: worker threads of the check (0: on the event loop). @default 1 */
  antispamThreads: number
  /** `HF_ANTISPAM_QUEUE`: checks that may wait for a thread; past it a compose skips the check (counted). @default 256 */
  antispamQueue: number
  /**
   * `HF_ANTISPAM_DEGRADE`: the check is skipped (and counted) while the process is this loaded, in
   * percent: the larger of in flight ÷ the inbound limit and the loop delay ÷ `HF_GUARD_MAX_LOOP_DELAY_MS`;
   * back on below 60 % of that; `off` never skips. @default 80
   */
  antispamDegradePercent: number | undefined
}

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 }

export function loadGuardConfig(env: NodeJS.ProcessEnv): GuardConfig {
  const rawConcurrency = (env['HF_GUARD_CONCURRENCY'] || 'vegas').toLowerCase()
  let concurrency: GuardConfig['concurrency']
  if (rawConcurrency === 'gradient2' || rawConcurrency === 'vegas' || rawConcurrency === 'off') {
    concurrency = rawConcurrency
  } else {
    concurrency = integer(env, 'HF_GUARD_CONCURRENCY', 0, 1, 100_000)
  }
  const degrade = env['HF_ANTISPAM_DEGRADE']
  const loopDelay = env['HF_GUARD_MAX_LOOP_DELAY_MS']
  return {
    concurrency,
    concurrencyMax: integer(env, 'HF_GUARD_CONCURRENCY_MAX', 256, 64, 100_000),
    maxLoopDelayMs:
      !loopDelay || loopDelay.toLowerCase() === 'off'
        ? undefined
        : integer(env, 'HF_GUARD_MAX_LOOP_DELAY_MS', 0, 1, 60_000),
    loginPerIp: rate(env, 'HF_LOGIN_LIMIT_IP', '30/1m'),
    loginPerUser: rate(env, 'HF_LOGIN_LIMIT_USER', '10/5m'),
    registerPerIp: rate(env, 'HF_REGISTER_LIMIT_IP', '10/1m'),
    trustProxy: env['HF_TRUST_PROXY'] || undefined,
    passwordHashQueue: integer(env, 'HF_PASSWORD_HASH_QUEUE', 64, 0, 100_000),
    antispam: flagOr(env, 'HF_ANTISPAM', true),
    antispamThreads: integer(env, 'HF_ANTISPAM_THREADS', 1, 0, 64),
    antispamQueue: integer(env, 'HF_ANTISPAM_QUEUE', 256, 0, 100_000),
    antispamDegradePercent:
      degrade?.toLowerCase() === 'off' ? undefined : integer(env, 'HF_ANTISPAM_DEGRADE', 80, 1, 1000),
  }
}

/** `<n>/<window>` (`30/1m`, `5/10s`, `100/1h`) or `off`. */
function rate(env: NodeJS.ProcessEnv, name: string, fallback: string): RateRule | undefined {
  const raw = env[name] || fallback
  if (raw.toLowerCase() === 'off') return undefined
  const match = /^(\d{1,9})\/(\d{0,6})(s|m|h)$/.exec(raw)
  const limit = Number(match?.[1])
  const windowMs = Number(match?.[2] || 1) * (units[match?.[3] ?? ''] ?? Number.NaN)
  if (!match || limit < 1 || !(windowMs > 0)) {
    throw new ConfigError(`${name} must be <n>/<window> (e.g. 30/1m, 5/10s, 100/1h) or off, got '${raw}'`)
  }
  return { limit, windowMs }
}
