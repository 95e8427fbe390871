import { createHmac, timingSafeEqual } from 'node:crypto'

/** What a valid token names: its user, and the user's token version when it was signed. */
export interface TokenClaims {
  userId: string
  /** Bumped by logout and password change: a token of an older version is revoked. */
  version: number
}

/**
 * Stateless bearer tokens: `base64url(userId.version.expiry).base64url(HMAC-SHA256)`. Any process that
 * holds the key verifies them without a session store; revocation is the user's token version, which
 * the caller compares with the stored one.
 *
 * Rotation: the first key signs; a second (the key before a rotation) is still accepted, so tokens
 * issued before the rotation keep working until they expire.
 */
export class TokenSigner {
  readonly #keys: readonly Buffer[]
  readonly #ttlSeconds: number

  constructor(keys: Buffer | readonly Buffer[], ttlSeconds: number) {
    this.#keys = Array.isArray(keys) ? [...keys] : [keys as Buffer]
    if (this.#keys.length === 0 || this.#keys.length > 2) throw new RangeError('one or two token keys')
    this.#ttlSeconds = ttlSeconds
  }

  /** The lifetime of the tokens it signs. */
  get ttlSeconds(): number {
    return this.#ttlSeconds
  }

  sign(userId: string, version: number, now = Date.now()): { token: string; expiresAt: Date } {
    const expiresAt = Math.floor(now / 1000) + this.#ttlSeconds
    const payload = Buffer.from(`${userId}.${version}.${expiresAt}`).toString('base64url')
    return { token: `${payload}.${mac(this.#keys[0]!, payload)}`, expiresAt: new Date(expiresAt * 1000) }
  }

  /** What the token names, or undefined when it is forged, malformed or expired. */
  verify(token: string, now = Date.now()): TokenClaims | undefined {
    const dot = token.indexOf('.')
    if (dot <= 0 || token.length > 200) return undefined
    const payload = token.slice(0, dot)
    const given = Buffer.from(token.slice(dot + 1), 'base64url')
    const signed = this.#keys.some((key) => {
      const expected = Buffer.from(mac(key, payload), 'base64url')
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
    if (!signed) return undefined
    const [userId, version, expiry, extra] = Buffer.from(payload, 'base64url').toString().split('.')
    if (extra !== undefined || !userId || !/^\d{1,19}$/.test(userId)) return undefined
    if (!version || !/^\d{1,9}$/.test(version)) return undefined
    if (!expiry || !/^\d{1,12}$/.test(expiry) || Number(expiry) * 1000 <= now) return undefined
    return { userId, version: Number(version) }
  }
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url')
}
