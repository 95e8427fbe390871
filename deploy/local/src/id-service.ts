import { haSettings } from './apps.js'
import type { UpContext } from './context.js'
import { ensureProcess } from './ensure-process.js'
import { httpProbe } from './health.js'
import { nodeEnv } from './node-env.js'
import { entryPoints, repoRoot } from './paths.js'

/**
 * The ID service, twice (`npm run id-service`'s binary): each leases its own worker id from the
 * primary, in the same table as the apps' leases, so no two processes of the stack share one.
 */
export async function ensureIdServices(ctx: UpContext): Promise<void> {
  const { state } = ctx
  const level = state.appEnv['HF_LOG_LEVEL']
  await Promise.all(
    state.idServices.map((record) =>
      ensureProcess(ctx, record, {
        spawn: () => ({
          command: process.execPath,
          args: [entryPoints.idService],
          cwd: repoRoot,
          env: nodeEnv({
            HF_ID_HOST: '127.0.0.1',
            HF_ID_PORT: String(record.port),
            ...haSettings(state),
            ...(state.databaseHosts?.length
              ? { HF_DATABASE_HOSTS: state.databaseHosts.join(',') }
              : { HF_DATABASE_URL: state.databaseUrl }),
            ...(level ? { HF_LOG_LEVEL: level } : {}),
          }),
          log: record.log,
        }),
        probe: httpProbe(`${record.url}/readyz`),
      }),
    ),
  )
}
