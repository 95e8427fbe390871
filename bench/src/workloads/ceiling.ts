import type { RequestSource } from '../loadgen/request.js'

/** The trivial route of the ceiling measurement: a fixed 1 KB JSON body through the same server stack. */
export const CEILING_PATH = '/ceiling'

/** Every request is `GET /ceiling`. */
export const ceilingSource: RequestSource = () => ({ endpoint: 'ceiling', method: 'GET', path: CEILING_PATH })
