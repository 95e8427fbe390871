/**
 * Runs every task with a signal of its own; the first failure aborts the others, every task is
 * waited for, and that failure is thrown. Nothing is still starting when the caller cleans up.
 */
export async function allOrNone(
  tasks: ReadonlyArray<(signal: AbortSignal) => Promise<void>>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const controller = new AbortController()
  const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal
  let first: unknown
  await Promise.all(
    tasks.map((task) =>
      task(combined).catch((err: unknown) => {
        if (first === undefined) first = err
        controller.abort(err)
      }),
    ),
  )
  if (first !== undefined) throw first
}
