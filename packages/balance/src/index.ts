export { Balancer } from './balancer.js'
export {
  BALANCE_CHANNELS,
  type DiscoveryEvent,
  type EjectEvent,
  type ReadmitEvent,
  type RetryEvent,
} from './diagnostics.js'
export type { DiscoveredEndpoint, Discovery, DiscoveryListener } from './discovery/discovery.js'
export { type DnsDiscoveryOptions, type DnsResolver, dnsDiscovery } from './discovery/dns.js'
export { type FileDiscoveryOptions, fileDiscovery } from './discovery/file.js'
export {
  type KubernetesDiscoveryOptions,
  type KubernetesFetch,
  kubernetesDiscovery,
} from './discovery/kubernetes.js'
export { staticDiscovery } from './discovery/static.js'
export type { EndpointSnapshot, EndpointState } from './endpoint.js'
export { BalanceError, type BalanceErrorCode, type BalanceErrorContext } from './errors.js'
export {
  type BalancerOptions,
  balancerDefaults,
  type HealthCheckOptions,
  healthCheckDefaults,
  type OutlierEjectionOptions,
  outlierEjectionDefaults,
  type RetryOptions,
  retryDefaults,
} from './options.js'
export {
  type DynamicWeightOptions,
  type DynamicWeightPicker,
  dynamicWeight,
  dynamicWeightDefaults,
} from './pickers/dynamic-weight.js'
export { type LeastOutstandingOptions, leastOutstanding } from './pickers/least-outstanding.js'
export { type P2cPeakEwmaOptions, p2cPeakEwma, p2cPeakEwmaDefaults } from './pickers/p2c-peak-ewma.js'
export type { Picker, PickerAttempt, PickerEndpoint, PickerOutcome, PickerView } from './pickers/picker.js'
export { type RandomOptions, random } from './pickers/random.js'
export { roundRobin } from './pickers/round-robin.js'
export { type StaticWeightOptions, staticWeight } from './pickers/static-weight.js'
export { type SlowStartOptions, slowStartDefaults, slowStartFactor } from './slow-start.js'
