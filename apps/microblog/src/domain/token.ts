import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Stateless bearer tokens: `base64url(userId.expiry).base64url(HMAC-SHA256)`. Any process that
 * shares the secret (kept in the database) verifies them without a session store.
 */
export class TokenSigner {
  readonly #secret: Buffer
  readonly #ttlSeconds: number

  constructor(secret: Buffer, ttlSeconds: number) {
    this.#secret = secret
    this.#ttlSeconds = ttlSeconds
  }

  sign(userId: string, now = Date.now()): { token: string; expiresAt: Date } {
    const expiresAt = Math.floor(now / 1000) + this.#ttlSeconds
    const payload = Buffer.from(`${userId}.${expiresAt}`).toString('base64url')
    return { token: `${payload}.${this.#mac(payload)}`, expiresAt: new Date(expiresAt * 1000) }
  }

  /** The user id the token names, or undefined when it is forged, malformed or expired. */
  verify(token: string, now = Date.now()): string | undefined {
    const dot = token.indexOf('.')
    if (dot <= 0 || token.length > 200) return undefined
    const payload = token.slice(0, dot)
    const mac = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = Buffer.from(this.#mac(payload), 'base64url')
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined
    const [userId, expiry] = Buffer.from(payload, 'base64url').toString().split('.')
    if (!userId || !/^\d{1,19}$/.test(userId) || !expiry || Number(expiry) * 1000 <= now) return undefined
    return userId
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url')
  }
}
