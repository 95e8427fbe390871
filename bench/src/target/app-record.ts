import type { TargetRecord } from '../results.js'

/**
 * What the microblog runs on, read from the environment it was given the way the app reads it
 * (`apps/microblog/src/config.ts`): database (with its streaming replicas), the cache's shared tier, home
 * timelines and the write queue.
 *
 * @example
 * describeApp({ HF_DATABASE_URL: 'postgres://…', HF_REDIS_URL: 'redis://…', HF_NATS_URL: 'nats://…' })
 * // { stores: { database: 'postgresql', cache: 'redis', home_timelines: 'redis' }, queue: 'jetstream' }
 */
export function describeApp(
  env: Readonly<Record<string, string | undefined>>,
): Required<Pick<TargetRecord, 'stores' | 'queue'>> {
  const set = (name: string): boolean => (env[name] ?? '') !== ''
  const off = (name: string): boolean => ['off', '0', 'false'].includes((env[name] ?? '').toLowerCase())
  const queued = set('HF_QUEUE') ? !off('HF_QUEUE') : set('HF_NATS_URL')
  const redis = set('HF_REDIS_URL')
  const replicas = (env['HF_DATABASE_REPLICA_URLS'] ?? '').split(',').filter((url) => url.trim()).length
  const postgres = replicas > 0 ? `postgresql + ${replicas} replica${replicas > 1 ? 's' : ''}` : 'postgresql'
  return {
    stores: {
      database: set('HF_DATABASE_URL') ? postgres : 'pglite',
      cache: off('HF_CACHE') ? 'off' : redis ? 'redis' : 'in-process',
      // Without the queue, home timelines are read by query; with it, kept as sorted sets.
      home_timelines: queued ? (redis ? 'redis' : 'in-process') : 'query',
    },
    queue: queued ? (set('HF_NATS_URL') ? 'jetstream' : 'in-process') : 'off',
  }
}

/** The `HF_*` variables a spawned app sees: the bench's own environment's, overridden by `env`. */
export function effectiveAppEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[0].startsWith('HF_') && entry[1] !== undefined,
  )
  return { ...Object.fromEntries(inherited), ...env }
}

/** Variables that hold a secret: never written to results. */
const SECRET_ENV = /^HF_TOKEN_SECRET/

/**
 * The `HF_*` settings as recorded in results: set ones only (an empty value is unset for the app), secrets
 * left out, passwords in URLs masked.
 *
 * @example
 * recordableSettings({ HF_DATABASE_URL: 'postgres://u:pw@h/db', HF_TOKEN_SECRET: 'k…', HF_REDIS_URL: '' })
 * // { HF_DATABASE_URL: 'postgres://u:***@h/db' }
 */
export function recordableSettings(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith('HF_') || value === '' || SECRET_ENV.test(name)) continue
    out[name] = value.split(',').map(maskUrlPassword).join(',')
  }
  return out
}

/** A URL with its password replaced by `***`; anything that is not a URL as it is. */
export function maskUrlPassword(value: string): string {
  if (!/^[a-z]+:\/\//.test(value)) return value
  try {
    const url = new URL(value)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return value
  }
}
