import { watch as watchFs } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { BalanceError, invalidOption } from '../errors.js'
import type { DiscoveredEndpoint, Discovery } from './discovery.js'

/** Options of {@link fileDiscovery}. */
export interface FileDiscoveryOptions {
  /** A JSON array of origins (or `{ origin, weight }`), or one origin per line (`#` starts a comment). */
  path: string
  /** Read again this often even without a change notice (some file systems send none). @default 10_000 */
  refreshMs?: number
}

/**
 * Endpoints from a file, read again whenever it changes (its directory is watched, so a file replaced by
 * rename — as editors and config tools do — is seen) and every `refreshMs`. A file that fails to read or
 * parse keeps the last good set.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * // /etc/users.endpoints: http://10.0.0.1:8080 (one per line)
 * const balancer = new Balancer({ discovery: fileDiscovery({ path: '/etc/users.endpoints' }) })
 */
export function fileDiscovery(options: FileDiscoveryOptions): Discovery {
  const { path, refreshMs = 10_000 } = options ?? {}
  if (typeof path !== 'string' || path === '')
    throw invalidOption('options.path', 'must be a file path', path)
  if (!(typeof refreshMs === 'number' && refreshMs > 0))
    throw invalidOption('options.refreshMs', 'must be a positive number', refreshMs)
  return Object.freeze({
    name: 'file',
    watch(listener, signal) {
      let last: string | undefined
      let timer: NodeJS.Timeout | undefined
      let reading = false
      let again = false
      const read = async () => {
        if (reading) {
          again = true
          return
        }
        reading = true
        try {
          const text = await readFile(path, 'utf8')
          if (!signal.aborted && text !== last) {
            const endpoints = parseEndpointsFile(text)
            last = text
            listener.update(endpoints)
          }
        } catch (error) {
          if (!signal.aborted) {
            listener.error(
              new BalanceError('E_DISCOVERY', `cannot read ${path}`, { source: 'file' }, { cause: error }),
            )
          }
        } finally {
          reading = false
          if (again && !signal.aborted) {
            again = false
            void read()
          }
        }
      }
      const name = basename(path)
      let watcher: ReturnType<typeof watchFs> | undefined
      try {
        watcher = watchFs(dirname(path), { persistent: false }, (_event, file) => {
          if (file === null || file === name) void read()
        })
        watcher.on('error', () => {})
      } catch {
        // No watching here: the periodic read still sees changes.
      }
      timer = setInterval(() => void read(), refreshMs)
      timer.unref()
      signal.addEventListener(
        'abort',
        () => {
          clearInterval(timer)
          watcher?.close()
        },
        { once: true },
      )
      void read()
    },
  } satisfies Discovery)
}

/** Parses a JSON array of origins or `{ origin, weight }`, or one origin per line. @internal */
export function parseEndpointsFile(text: string): DiscoveredEndpoint[] {
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed)
    if (!Array.isArray(parsed)) throw new TypeError('expected a JSON array')
    return parsed.map((item) => (typeof item === 'string' ? { origin: item } : (item as DiscoveredEndpoint)))
  }
  return trimmed
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [origin = '', weight] = line.split(/\s+/)
      return weight === undefined ? { origin } : { origin, weight: Number(weight) }
    })
}
