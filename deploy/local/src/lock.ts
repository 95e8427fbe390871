import { readFile, rm, writeFile } from 'node:fs/promises'
import { StackError } from './errors.js'
import { stackPaths } from './layout.js'
import { procInfo } from './processes.js'

/**
 * Runs `fn` holding the stack's lock (`stack.lock`, with this PID), so two `up`s or an `up` and a
 * `down` never interleave. A lock whose holder is gone is taken over.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = stackPaths(dir).lock
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw busy(dir, path, err)
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(holder) && holder > 0 && procInfo(holder)) {
        throw busy(dir, path, undefined, holder)
      }
      await rm(path, { force: true })
    }
  }
  try {
    return await fn()
  } finally {
    await rm(path, { force: true })
  }
}

function busy(dir: string, path: string, cause?: unknown, holder?: number): StackError {
  return new StackError(
    'E_BUSY',
    holder
      ? `another stack command (pid ${holder}) is working on ${dir}; wait for it, or remove ${path} if it is gone`
      : `could not take the lock ${path}`,
    { dir },
    cause === undefined ? undefined : { cause },
  )
}
