import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type { RequestSource } from '../loadgen/request.js'
import { dsbSource, type Mix } from '../workloads/dsb.js'
import type { DrillEvent } from './drill-load.js'

/** The prefix of every post a drill composes: `drill-<run>-<n> `, so each write can be found after it. */
export function drillMarkPrefix(run: string): string {
  return `drill-${run}-`
}

/**
 * DeathStarBench's mix, with every compose's text starting with a mark of its own (`drill-<run>-<n> `):
 * after the drill the database tells which writes were stored, whatever the client was answered.
 *
 * @example
 * const source = markedDsbSource(DSB_MIX, 962, 'k3f9')
 */
export function markedDsbSource(mix: Mix, users: number, run: string): RequestSource {
  const inner = dsbSource(mix, users)
  let n = 0
  return (random) => {
    const spec = inner(random)
    if (spec.endpoint !== 'compose' || spec.body === undefined) return spec
    const form = new URLSearchParams(spec.body)
    form.set('text', `${drillMarkPrefix(run)}${n++} ${form.get('text') ?? ''}`)
    return { ...spec, body: form.toString() }
  }
}

/** The mark of a compose event, or undefined for a read. */
export function markOf(event: DrillEvent): string | undefined {
  if (event.spec.endpoint !== 'compose' || event.spec.body === undefined) return undefined
  const text = new URLSearchParams(event.spec.body).get('text') ?? ''
  return text.slice(0, text.indexOf(' '))
}

/** What became of a drill's writes once the queue drained. */
export interface WriteAudit {
  /** Composes answered 2xx (acknowledged: in JetStream or PostgreSQL). */
  acknowledged: number
  /** Acknowledged composes not in the database after the wait: lost writes (must be 0). */
  acknowledged_missing: number
  /** Composes that failed (any non-2xx or client-side error). */
  failed: number
  /** Failed composes answered with a 5xx by the server or proxy: a clean error a client can retry. */
  failed_clean_5xx: number
  /** Failed composes that are in the database anyway: a blind retry of those would post twice. */
  failed_but_stored: number
}

/**
 * Waits (up to `waitMs`) until every acknowledged compose of the drill is in the primary, then counts.
 *
 * @example
 * const audit = await auditWrites(load.events, state.databaseUrl, run, 60_000)
 */
export async function auditWrites(
  events: readonly DrillEvent[],
  databaseUrl: string,
  run: string,
  waitMs: number,
): Promise<WriteAudit> {
  const writes = events.filter((event) => markOf(event) !== undefined)
  const ok = writes.filter((event) => event.status >= 200 && event.status < 300)
  const bad = writes.filter((event) => !(event.status >= 200 && event.status < 300))
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const deadline = performance.now() + waitMs
    let stored = new Set<string>()
    let lastCount = -1
    let stableSince = performance.now()
    for (;;) {
      const { rows } = await client.query<{ mark: string }>(
        `SELECT split_part(text, ' ', 1) AS mark FROM posts WHERE text LIKE $1`,
        [`${drillMarkPrefix(run)}%`],
      )
      stored = new Set(rows.map((row) => row.mark))
      const missing = ok.filter((event) => !stored.has(markOf(event)!)).length
      if (stored.size !== lastCount) {
        lastCount = stored.size
        stableSince = performance.now()
      }
      // Done when nothing acknowledged is missing and nothing new arrived for 3 s (late failed writes).
      if (missing === 0 && performance.now() - stableSince > 3000) break
      if (performance.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    return {
      acknowledged: ok.length,
      acknowledged_missing: ok.filter((event) => !stored.has(markOf(event)!)).length,
      failed: bad.length,
      failed_clean_5xx: bad.filter((event) => event.status >= 500 && event.status < 600).length,
      failed_but_stored: bad.filter((event) => stored.has(markOf(event)!)).length,
    }
  } finally {
    await client.end()
  }
}
