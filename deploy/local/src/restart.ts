import { microblogSpec } from './apps.js'
import type { UpContext } from './context.js'
import { startProcess } from './ensure-process.js'
import { StackError } from './errors.js'
import { reloadNginx, writeNginxConf } from './nginx.js'
import { waitPortFree } from './ports.js'
import { isRunning, stopProcess } from './processes.js'
import type { ProcessRecord } from './state.js'

/** Told after each process is back and healthy. */
export interface RestartEvent {
  readonly name: string
  readonly kind: 'app' | 'consumer'
  readonly oldPid: number | undefined
  readonly pid: number
  readonly port: number
}

/**
 * Restarts microblog processes one at a time. An app is first taken out of nginx's upstream (a
 * graceful reload: the old workers finish what they sent it), then SIGTERMed (it drains and exits),
 * started again on its port, health-gated on `/readyz`, and put back (another reload) before the
 * next one goes. The others keep serving throughout. A consumer is simply stopped and started.
 * `signal` stops the roll between two processes.
 *
 * Stopping an app while nginx still sends to it loses requests: nginx keeps idle connections to it,
 * and one it reuses just as the app closes is reset with a request on it (a POST is then not passed
 * on). The price of the reloads instead is on the client side: a reload closes the old workers' idle
 * client connections, and a request a client writes on one at that instant fails before nginx reads
 * it; clients resend idempotent requests then (RFC 9112, section 9.3.1).
 */
export async function rollMicroblogs(
  ctx: UpContext,
  records: readonly ProcessRecord[],
  onEach?: (event: RestartEvent) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const { state, options } = ctx
  const nginxUp = isRunning(state.nginx)
  for (const record of records) {
    // Between processes only: one that is out of the upstream is always brought back first.
    signal?.throwIfAborted()
    const kind = record.kind
    if (kind !== 'app' && kind !== 'consumer') continue
    const oldPid = record.pid
    const inUpstream = kind === 'app' && nginxUp
    if (inUpstream) {
      if (state.apps.length === 1) {
        options.log(
          `warning: ${record.name} is the only app: requests fail while it restarts (use --apps 2+)`,
        )
      }
      await writeNginxConf(state, { without: new Set([record.name]) })
      await reloadNginx(state)
      options.log(`${record.name}: out of the upstream`)
    }
    const stopped = await stopProcess(record, {
      signal: 'SIGTERM',
      timeoutMs: state.settings.drainMs + 15_000,
    })
    if (stopped === 'killed') options.log(`warning: ${record.name} did not exit on SIGTERM in time: killed`)
    await ctx.save()
    if (!(await waitPortFree(record.port, 10_000))) {
      throw new StackError(
        'E_PORT_IN_USE',
        `port ${record.port} of ${record.name} is still taken after it stopped`,
        {
          component: record.name,
          ports: [{ port: record.port, component: record.name }],
        },
      )
    }
    await startProcess(ctx, record, microblogSpec(state, record))
    ctx.note(record, 'restarted')
    if (inUpstream) {
      await writeNginxConf(state)
      await reloadNginx(state)
      options.log(`${record.name}: back in the upstream (pid ${record.pid})`)
    }
    await onEach?.({ name: record.name, kind, oldPid, pid: record.pid!, port: record.port })
  }
}
