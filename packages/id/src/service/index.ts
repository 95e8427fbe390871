export { Http1Server, type Http1ServerOptions } from './http1-server.js'
export { createIdService, type IdService, type IdServiceLogger, type IdServiceOptions } from './id-service.js'
export { PROBLEM_CONTENT_TYPE, SERVICE_ERRORS, type ServiceErrorCode } from './problem.js'
export type { RequestHandler, ServiceResponse } from './service-response.js'
