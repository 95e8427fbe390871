import { Snowflake } from '@hundredfold/id'
import { afterEach } from 'vitest'
import { createIdService, type IdService, type IdServiceOptions } from '../../src/index.js'

/** One GET's answer, read whole. */
export interface Answer {
  statusCode: number
  headers: Record<string, string>
  body: string
  json(): any
}

const services: IdService[] = []
afterEach(async () => {
  for (const service of services.splice(0)) await service.close()
})

/**
 * A service listening on port 0 (closed after the test; a fixed worker id 21 unless `generator` is given),
 * and `inject(path, init)`: one request over a real socket.
 */
export function listening(options: Partial<IdServiceOptions> = {}) {
  const service = createIdService({ generator: new Snowflake({ workerId: 21 }), ...options })
  services.push(service)
  const baseUrl = service.listen()
  return {
    service,
    baseUrl: () => baseUrl,
    async inject(path: string, init?: RequestInit): Promise<Answer> {
      const response = await fetch(`${await baseUrl}${path}`, init)
      const body = await response.text()
      return {
        statusCode: response.status,
        headers: Object.fromEntries(response.headers),
        body,
        json: () => JSON.parse(body),
      }
    },
  }
}
