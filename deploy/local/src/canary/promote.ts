import { join, resolve } from 'node:path'
import { microblogSpec } from '../apps.js'
import type { UpContext } from '../context.js'
import { startProcess } from '../ensure-process.js'
import { StackError } from '../errors.js'
import { microblogEntry, repoRoot } from '../paths.js'
import { waitPortFree } from '../ports.js'
import { stopProcess } from '../processes.js'
import type { ProcessRecord } from '../state.js'
import type { CanaryState } from './record.js'

/** The repository's own microblog build: the stack's build when `state.microblogBuild` is absent. */
const repositoryBuild = join(repoRoot, 'apps/microblog')

/**
 * Makes the canary's build the stack's: records it as `state.microblogBuild` (later `up`s and
 * `restart apps` run it), then restarts every app and then every consumer on it, one at a time. Called
 * with the canary at 100%, so nginx sends the apps nothing while they restart. Resolves with the names
 * of the processes restarted; the canary is still serving everything (take it out next).
 */
export async function promoteCanary(ctx: UpContext, canary: CanaryState): Promise<string[]> {
  const { state, options } = ctx
  state.microblogBuild = resolve(canary.build) === repositoryBuild ? undefined : resolve(canary.build)
  await ctx.save()
  const entry = microblogEntry(state.microblogBuild)
  const restarted: string[] = []
  const replace = async (list: ProcessRecord[], index: number): Promise<void> => {
    const old = list[index]!
    const stopped = await stopProcess(old, { timeoutMs: state.settings.drainMs + 15_000 })
    if (stopped === 'killed') options.log(`warning: ${old.name} did not exit on SIGTERM in time: killed`)
    const next: ProcessRecord = { ...old, markers: [entry], pid: undefined, startTime: undefined }
    list[index] = next
    await ctx.save()
    if (!(await waitPortFree(next.port, 10_000))) {
      throw new StackError(
        'E_PORT_IN_USE',
        `port ${next.port} of ${next.name} is still taken after it stopped`,
        {
          component: next.name,
          ports: [{ port: next.port, component: next.name }],
        },
      )
    }
    await startProcess(ctx, next, microblogSpec(state, next))
    ctx.note(next, 'restarted')
    restarted.push(next.name)
  }
  for (const index of state.apps.keys()) await replace(state.apps, index)
  for (const index of state.consumers.keys()) await replace(state.consumers, index)
  return restarted
}
