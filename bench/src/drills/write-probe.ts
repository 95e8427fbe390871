import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

/** What {@link probeSyncWrites} saw. */
export interface WriteProbe {
  /** From `since` to the answer of the first sign-up that succeeded after one had failed; 0 when none failed. */
  resumedS: number
  attempts: number
  failures: number
}

/**
 * Signs a new user up through `/wrk2-api/user/register` every `everyMs` — a write that commits on the
 * PostgreSQL primary before it is answered (posts and follows wait in the queue) — until one succeeds
 * after at least one has failed, or `settleMs` passes with none failing. Usernames are
 * `<prefix>-<n>`, so the probe's users are told apart from the dataset's.
 *
 * @example
 * const probe = await probeSyncWrites('http://127.0.0.1:8088', 'probe-k3f9', performance.now(), { signal })
 */
export async function probeSyncWrites(
  baseUrl: string,
  prefix: string,
  since: number,
  options: { signal: AbortSignal; everyMs?: number; settleMs?: number; timeoutMs?: number },
): Promise<WriteProbe> {
  const { signal, everyMs = 200, settleMs = 3000, timeoutMs = 60_000 } = options
  let attempts = 0
  let failures = 0
  const started = performance.now()
  for (let n = 0; !signal.aborted; n++) {
    const body = new URLSearchParams({
      first_name: 'probe',
      last_name: String(n),
      username: `${prefix}-${n}`,
      password: 'drill probe password',
      user_id: String(900_000_000 + Math.floor(Math.random() * 99_999_999)),
    })
    attempts++
    const ok = await fetch(`${baseUrl}/wrk2-api/user/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
    }).then(
      async (res) => {
        await res.arrayBuffer()
        return res.ok
      },
      () => false,
    )
    const now = performance.now()
    if (!ok) failures++
    else if (failures > 0) return { resumedS: round((now - since) / 1000), attempts, failures }
    if (failures === 0 && now - started >= settleMs) return { resumedS: 0, attempts, failures }
    if (now - started >= timeoutMs) return { resumedS: round((now - since) / 1000), attempts, failures }
    await sleep(everyMs, undefined, { signal }).catch(() => {})
  }
  return { resumedS: round((performance.now() - since) / 1000), attempts, failures }
}

const round = (value: number): number => Math.round(value * 100) / 100
