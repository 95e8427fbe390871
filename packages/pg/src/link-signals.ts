/** A signal that fires when either of two does, and the removal of its listeners. */
export interface LinkedSignal {
  readonly signal: AbortSignal
  /** Removes the listeners from both sources; call it once the guarded work has settled. */
  dispose(): void
}

/**
 * `caller` or `other`, whichever fires first (its reason is kept). Unlike `AbortSignal.any`, the
 * listeners on a long-lived `other` (a host's down signal, shared by every read) are removed by
 * `dispose()` rather than left to the garbage collector, so a read costs one controller at most.
 *
 * @example
 * const linked = linkSignals(options.signal, host.downSignal)
 * try { await conn.query(sql, params, { signal: linked.signal }) } finally { linked.dispose() }
 */
export function linkSignals(caller: AbortSignal | undefined, other: AbortSignal): LinkedSignal {
  if (!caller) return { signal: other, dispose: () => {} }
  if (caller.aborted || other.aborted) {
    return { signal: caller.aborted ? caller : other, dispose: () => {} }
  }
  const controller = new AbortController()
  const onCaller = () => controller.abort(caller.reason)
  const onOther = () => controller.abort(other.reason)
  caller.addEventListener('abort', onCaller, { once: true })
  other.addEventListener('abort', onOther, { once: true })
  return {
    signal: controller.signal,
    dispose: () => {
      caller.removeEventListener('abort', onCaller)
      other.removeEventListener('abort', onOther)
    },
  }
}
