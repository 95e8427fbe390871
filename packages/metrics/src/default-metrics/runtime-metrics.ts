import { getHeapSpaceStatistics } from 'node:v8'
import type { Gauge } from '../gauge.js'
import type { Metric } from '../registry.js'
import { type MetricGroup, prefixed } from './metric-group.js'

// Undocumented, but what prom-client reads; checked before use so a Node without them just lacks the metric.
interface ProcessInternals {
  _getActiveHandles?: () => unknown[]
  _getActiveRequests?: () => unknown[]
}

/**
 * `nodejs_*` under prom-client's names, except the event loop and GC: active handles, requests and
 * resources, V8 heap (overall and per space), external memory, and the version.
 */
export function runtimeMetrics(prefix: string): MetricGroup {
  const { gauge } = prefixed(prefix)
  const metrics: Metric[] = []
  const internals = process as unknown as ProcessInternals
  const count = (name: string, help: string, list: (() => unknown[]) | undefined) => {
    if (typeof list !== 'function') return
    metrics.push(gauge(name, help, { collect: (g) => g.set(list.call(process).length) }))
  }
  count('nodejs_active_handles_total', 'Total number of active handles.', internals._getActiveHandles)
  count('nodejs_active_requests_total', 'Total number of active requests.', internals._getActiveRequests)
  count(
    'nodejs_active_resources_total',
    'Total number of active resources.',
    typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo : undefined,
  )

  const heapTotal = gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', {
    collect: (total) => {
      const memory = process.memoryUsage()
      total.set(memory.heapTotal)
      heapUsed.set(memory.heapUsed)
      external.set(memory.external)
    },
  })
  const heapUsed = gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.')
  const external = gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.')
  metrics.push(heapTotal, heapUsed, external)

  const space = (kind: string, collect?: (space: Gauge<'space'>) => void) =>
    gauge<'space'>(
      `nodejs_heap_space_size_${kind}_bytes`,
      `Process heap space size ${kind} from Node.js in bytes.`,
      {
        labelNames: ['space'],
        ...(collect === undefined ? {} : { collect }),
      },
    )
  const spaceUsed = space('used')
  const spaceAvailable = space('available')
  const spaceTotal = space('total', (total) => {
    for (const s of getHeapSpaceStatistics()) {
      // `new_space` → `new`, as prom-client labels it.
      const labels = { space: s.space_name.replace(/_space$/, '') }
      total.labels(labels).set(s.space_size)
      spaceUsed.labels(labels).set(s.space_used_size)
      spaceAvailable.labels(labels).set(s.space_available_size)
    }
  })
  metrics.push(spaceTotal, spaceUsed, spaceAvailable)

  const [major = '0', minor = '0', patch = '0'] = process.versions.node.split('.')
  const version = gauge('nodejs_version_info', 'Node.js version info.', {
    labelNames: ['version', 'major', 'minor', 'patch'],
  })
  version.labels({ version: process.version, major, minor, patch }).set(1)
  metrics.push(version)
  return { metrics }
}
