import type { QueueDriver } from '../driver.js'

/** What a contract run needs: new connections to one broker. */
export interface QueueFixture {
  /** A new connection to the broker under test (several may be open at once). */
  connect(): QueueDriver
  cleanup?(): Promise<void>
}
