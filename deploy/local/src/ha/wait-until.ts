import { setTimeout as sleep } from 'node:timers/promises'
import { StackError } from '../errors.js'
import type { Probe } from '../health.js'
import { tail } from '../processes.js'
import { type HaProcess, isAlive } from './ha-process.js'

/** What a wait is about: named in its error, with the tail of each log. */
export interface WaitSubject {
  /** The error's `component`: `etcd-1`, `pg-2`, `patroni`. */
  readonly component: string
  /** The message's subject: `pg-2`, `Patroni (pg-2, pg-3)`. */
  readonly name: string
  readonly logs: readonly string[]
  /** When it is one process: its exit ends the wait at once. */
  readonly proc?: HaProcess
}

/**
 * Probes until `probe` says ok, within `timeoutMs`. Fails early when the subject's process exits,
 * and on timeout, with `E_NOT_HEALTHY` naming the subject, the last probe's answer and the tail of
 * each log; an aborted `signal` rejects with its reason.
 */
export async function waitUntil(
  subject: WaitSubject,
  probe: Probe,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; failure: string },
): Promise<void> {
  const { signal } = options
  const deadline = Date.now() + options.timeoutMs
  let last = 'not probed'
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted()
    const bound = AbortSignal.timeout(Math.min(2000, Math.max(100, deadline - Date.now())))
    const result = await probe(signal ? AbortSignal.any([signal, bound]) : bound)
    if (result.ok) return
    signal?.throwIfAborted()
    last = result.detail ?? 'not ready'
    const exited = subject.proc?.pid !== undefined && !isAlive(subject.proc)
    if (exited || Date.now() >= deadline) {
      const why = exited
        ? `exited (pid ${subject.proc!.pid})`
        : `${options.failure} within ${options.timeoutMs} ms`
      const logs = subject.logs.map((log) => `\n--- ${log} (last lines)\n${tail(log, 15)}`).join('')
      throw new StackError('E_NOT_HEALTHY', `${subject.name} ${why}: ${last}${logs}`, {
        component: subject.component,
        ...(subject.logs[0] ? { log: subject.logs[0] } : {}),
      })
    }
    await sleep(Math.min(250, 25 * 2 ** attempt), undefined, signal ? { signal } : {})
  }
}
