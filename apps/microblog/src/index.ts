export { ConfigError, loadConfig, type MicroblogConfig } from './config.js'
export { AppError, type AppErrorCode, errorCatalogue } from './domain/app-error.js'
export { type CloseOptions, type Microblog, startMicroblog } from './microblog.js'
