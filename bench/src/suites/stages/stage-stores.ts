import { access, constants } from 'node:fs/promises'
import { join } from 'node:path'
import { maskUrlPassword } from '../../target/app-record.js'
import { postgresReachable } from '../../target/postgres-db.js'
import { natsUnfit, redisUnfit } from '../../target/service-probes.js'
import type { StageDefinition } from './stage-ladder.js'

/** PostgreSQL binaries the suite starts its servers with (`startReplicaSet`'s default). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin'
const PG_BINARIES = ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres']

/** Why each store cannot be had on this machine; undefined where it can. */
export interface StoreAvailability {
  /** Why the suite cannot start PostgreSQL servers of its own (binaries missing). */
  servers: string | undefined
  /** Why `--postgres-url` cannot stand in for a started server. */
  postgresUrl: string | undefined
  redis: string | undefined
  nats: string | undefined
}

/**
 * Probes the stores once for the whole run: the PostgreSQL binaries, `--postgres-url`, Redis and the
 * JetStream broker.
 *
 * @example
 * const stores = await probeStores(options, PG_BIN_DIR, signal)
 */
export async function probeStores(
  options: { postgresUrl: string; redisUrl: string; natsUrl: string },
  binDir: string,
  signal: AbortSignal,
): Promise<StoreAvailability> {
  const [servers, postgres, redis, nats] = await Promise.all([
    missingBinaries(binDir),
    postgresReachable(options.postgresUrl),
    redisUnfit(options.redisUrl, signal),
    natsUnfit(options.natsUrl, signal),
  ])
  signal.throwIfAborted()
  return {
    servers,
    postgresUrl: postgres
      ? undefined
      : `PostgreSQL at ${maskUrlPassword(options.postgresUrl)} did not answer`,
    redis,
    nats,
  }
}

/**
 * Why a stage cannot run with these stores, or undefined when it can. A stage on the primary alone runs
 * on `--postgres-url` when no server can be started; replicas need started servers.
 *
 * @example
 * skipReason(STAGES[2]!, { ...stores, redis: 'Redis at … did not answer' }) // 'needs Redis: Redis at … did not answer'
 */
export function skipReason(stage: StageDefinition, stores: StoreAvailability): string | undefined {
  const reasons: string[] = []
  if (stage.replicas > 0 && stores.servers) {
    reasons.push(`needs ${stage.replicas} streaming replicas: ${stores.servers}`)
  } else if (stores.servers && stores.postgresUrl) {
    reasons.push(`needs PostgreSQL: ${stores.servers}, and ${stores.postgresUrl}`)
  }
  if ((stage.cache || stage.queue) && stores.redis) reasons.push(`needs Redis: ${stores.redis}`)
  if (stage.queue && stores.nats) reasons.push(`needs JetStream: ${stores.nats}`)
  return reasons.length === 0 ? undefined : reasons.join('; ')
}

async function missingBinaries(binDir: string): Promise<string | undefined> {
  const missing: string[] = []
  for (const binary of PG_BINARIES) {
    await access(join(binDir, binary), constants.X_OK).catch(() => missing.push(binary))
  }
  return missing.length === 0 ? undefined : `no ${missing.join(', ')} in ${binDir}`
}
