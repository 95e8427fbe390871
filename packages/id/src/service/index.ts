export { createIdService, type IdServiceOptions } from './id-service.js'
export { PROBLEM_CONTENT_TYPE, SERVICE_ERRORS, type ServiceErrorCode } from './problem.js'
