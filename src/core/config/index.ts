export { formatPath, type PathSegment } from './path.js'
export { redactPaths, redactUserinfoPassword, userinfoPasswordSpan } from './secret-paths.js'
export {
  diffValues,
  formatPlan,
  formatPlanSummary,
  planChanges,
  planHasChanges,
  type FieldChange,
  type FormatPlanOptions,
  type Plan,
  type PlanChangesOptions,
  type PlannedCreate,
  type PlannedDelete,
  type PlannedUpdate,
} from './plan.js'
