export { ConfigError, loadConfig, type MicroblogConfig } from './config.js'
export { AppError, type AppErrorCode, errorCatalogue } from './domain/app-error.js'
export { type Microblog, startMicroblog } from './microblog.js'
