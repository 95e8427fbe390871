export { type DriverCapabilities, type DriverFixture, registerDriverContract } from './driver-contract.js'
export { type ReplicaSet, type ReplicaSetOptions, type ServerHandle, startReplicaSet } from './replica-set.js'
export { type TemporaryDatabase, temporaryDatabase, testServerUrl } from './temporary-database.js'
