import { existsSync, readFileSync } from 'node:fs'
import { BalanceError, invalidOption } from '../errors.js'
import { type DiscoveredEndpoint, type Discovery, poll } from './discovery.js'

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'

/** The subset of `fetch` that {@link kubernetesDiscovery} uses. */
export type KubernetesFetch = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>

/** Options of {@link kubernetesDiscovery}. */
export interface KubernetesDiscoveryOptions {
  /** The Service whose EndpointSlices to read. */
  service: string
  /** @default the pod's own namespace (from the service account), else 'default' */
  namespace?: string
  /** The API server. @default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
  apiUrl?: string
  /** The EndpointSlice port to use, by name; may be omitted when the slices have one port. */
  portName?: string
  /** A bearer token. @default the pod's service-account token, if there is one */
  token?: string
  /** How often to read the slices again. @default 10_000 */
  refreshMs?: number
  /** @default 'http' */
  protocol?: 'http' | 'https'
  /**
   * The fetch to call the API with (give one with the cluster CA for https, e.g. undici's `fetch` with an
   * `Agent({ connect: { ca } })`). @default globalThis.fetch
   */
  fetch?: KubernetesFetch
}

/**
 * Endpoints from a Kubernetes Service's EndpointSlices (`discovery.k8s.io/v1`), read through the API every
 * `refreshMs`: the ready addresses of every slice, at the port named `portName`. A failed read keeps the last
 * good set.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * const balancer = new Balancer({
 *   discovery: kubernetesDiscovery({ namespace: 'prod', service: 'users', portName: 'http' }),
 * })
 */
export function kubernetesDiscovery(options: KubernetesDiscoveryOptions): Discovery {
  const o = options ?? ({} as KubernetesDiscoveryOptions)
  if (typeof o.service !== 'string' || o.service === '')
    throw invalidOption('options.service', 'must be a Service name', o.service)
  const namespace = o.namespace ?? readServiceAccount('namespace') ?? 'default'
  const apiUrl = o.apiUrl ?? inClusterApiUrl()
  if (apiUrl === undefined) throw invalidOption('options.apiUrl', 'must be given outside a cluster', o.apiUrl)
  const refreshMs = o.refreshMs ?? 10_000
  if (!(typeof refreshMs === 'number' && refreshMs > 0))
    throw invalidOption('options.refreshMs', 'must be a positive number', refreshMs)
  const protocol = o.protocol ?? 'http'
  if (protocol !== 'http' && protocol !== 'https')
    throw invalidOption('options.protocol', "must be 'http' or 'https'", protocol)
  const doFetch = o.fetch ?? (globalThis.fetch as unknown as KubernetesFetch)
  if (typeof doFetch !== 'function') throw invalidOption('options.fetch', 'must be a function', doFetch)
  const selector = encodeURIComponent(`kubernetes.io/service-name=${o.service}`)
  const url = `${apiUrl.replace(/\/$/, '')}/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices?labelSelector=${selector}`
  const read = async (signal: AbortSignal): Promise<DiscoveredEndpoint[]> => {
    const token = o.token ?? readServiceAccount('token')
    const headers: Record<string, string> = { accept: 'application/json' }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const response = await doFetch(url, { headers, signal })
    if (!response.ok) throw new Error(`the API answered ${response.status}`)
    return endpointsOfSlices(await response.json(), o.portName, protocol)
  }
  return Object.freeze({
    name: 'kubernetes',
    watch(listener, signal) {
      poll(read, refreshMs, listener, signal, (error) => {
        const message = `cannot read the EndpointSlices of ${namespace}/${o.service}`
        return new BalanceError('E_DISCOVERY', message, { source: 'kubernetes' }, { cause: error })
      })
    },
  } satisfies Discovery)
}

interface EndpointSlice {
  addressType?: string
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean | null } }> | null
  ports?: Array<{ name?: string | null; port?: number | null; protocol?: string }> | null
}

/** The ready addresses of an `EndpointSliceList`, as origins. @internal */
export function endpointsOfSlices(
  list: unknown,
  portName: string | undefined,
  protocol: 'http' | 'https',
): DiscoveredEndpoint[] {
  const items = (list as { items?: EndpointSlice[] } | null)?.items
  if (!Array.isArray(items)) throw new TypeError('expected an EndpointSliceList')
  const origins = new Set<string>()
  for (const slice of items) {
    const ports = slice.ports ?? []
    const port =
      portName === undefined
        ? ports.length === 1
          ? ports[0]
          : undefined
        : ports.find((p) => p.name === portName)
    if (port?.port == null) continue
    for (const endpoint of slice.endpoints ?? []) {
      // Per the API, a missing `ready` means ready.
      if (endpoint.conditions?.ready === false) continue
      for (const address of endpoint.addresses ?? []) {
        const host = slice.addressType === 'IPv6' ? `[${address}]` : address
        origins.add(`${protocol}://${host}:${port.port}`)
      }
    }
  }
  return [...origins].map((origin) => ({ origin }))
}

function readServiceAccount(file: string): string | undefined {
  const path = `${SERVICE_ACCOUNT}/${file}`
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined
}

function inClusterApiUrl(): string | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT
  if (!host) return undefined
  return `https://${host.includes(':') ? `[${host}]` : host}:${port ?? '443'}`
}
