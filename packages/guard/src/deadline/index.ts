export { type BudgetOptions, budget, budgetDefaults } from './budget.js'
export { type Deadline, deadline, deadlineAt, linkDeadline, remainingMs } from './deadline.js'
export {
  DEADLINE_HEADER,
  type DeadlineFromHeadersOptions,
  deadlineFromHeaders,
  deadlineHeaders,
  formatTimeout,
  type HeaderSource,
  parseTimeout,
} from './headers.js'
