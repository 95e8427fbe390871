/** A configuration value failed its check; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'E_CONFIG'
}

export function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got '${raw}'`)
  }
  return value
}

export function durations(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d{1,7}(,\d{1,7}){0,9}$/.test(raw) || raw.split(',').some((ms) => Number(ms) < 10)) {
    throw new ConfigError(`${name} must be 1-10 comma-separated milliseconds, each at least 10, got '${raw}'`)
  }
  return raw.split(',').map(Number)
}

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

export function secret(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const bytes = /^[A-Za-z0-9_-]+$/.test(raw) ? Buffer.from(raw, 'base64url') : Buffer.alloc(0)
  if (bytes.length < 32) {
    throw new ConfigError(
      `${name} must be base64url of at least 32 bytes (openssl rand -base64 32 | tr '+/' '-_' | tr -d =)`,
    )
  }
  return bytes
}

export function yes(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name] ?? ''
  if (raw === '' || raw === 'no') return false
  if (raw === 'yes') return true
  throw new ConfigError(`${name} must be 'yes' or 'no', got '${raw}'`)
}

export function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase()
  if (raw === '' || raw === 'off' || raw === '0' || raw === 'false') return false
  if (raw === 'on' || raw === '1' || raw === 'true') return true
  throw new ConfigError(`${name} must be 'on' or 'off', got '${env[name]}'`)
}

/** `on`/`off` with a default when unset or empty. */
export function flagOr(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  return env[name] === undefined || env[name] === '' ? fallback : flag(env, name)
}
