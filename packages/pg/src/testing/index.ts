export { type TemporaryDatabase, temporaryDatabase, testServerUrl } from './temporary-database.js'
