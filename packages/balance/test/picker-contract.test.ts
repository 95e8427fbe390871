import {
  dynamicWeight,
  leastOutstanding,
  p2cPeakEwma,
  random,
  roundRobin,
  staticWeight,
} from '@hundredfold/balance'
import { registerPickerContract } from '@hundredfold/balance/testing'

registerPickerContract('roundRobin', () => roundRobin())
registerPickerContract('random', () => random())
registerPickerContract('staticWeight', () => staticWeight())
registerPickerContract('leastOutstanding', () => leastOutstanding())
registerPickerContract('p2cPeakEwma', () => p2cPeakEwma())
registerPickerContract('dynamicWeight', () => dynamicWeight())
