export { fingerprint, type Labels } from './fingerprint.js'
export {
  groupKey,
  groupLabels,
  openGroup,
  planGroupNotification,
  recordGroupFlush,
  upsertGroupAlert,
  type GroupAlert,
  type GroupFlushOptions,
  type GroupNotification,
  type GroupNotificationLog,
  type GroupNotificationPlan,
  type GroupNotificationReason,
  type GroupState,
  type GroupTiming,
} from './grouping.js'
export {
  inhibitedBy,
  inhibitRuleSchema,
  isInhibited,
  type InhibitingAlert,
  type Inhibition,
  type InhibitRule,
  type InhibitRuleInput,
} from './inhibition.js'
export {
  activeMaintenance,
  isInMaintenance,
  maintenanceState,
  maintenanceWindowSchema,
  nextMaintenanceChange,
  type MaintenanceState,
  type MaintenanceWindow,
  type MaintenanceWindowInput,
  type RecurringMaintenance,
} from './maintenance.js'
export {
  createMatcher,
  formatMatcher,
  formatMatchers,
  matchersSchema,
  matchesAll,
  matchesValue,
  parseMatcher,
  parseMatchers,
  type CreateMatcherResult,
  type Matcher,
  type MatchOperator,
  type ParseMatcherResult,
  type ParseMatchersResult,
} from './matchers.js'
export { alertForTransition, type AlertEvent, type AlertingMonitor } from './monitor-alert.js'
export {
  defaultRouteTiming,
  matchRoutes,
  routeSchema,
  routeTreeSchema,
  type Route,
  type RouteConfig,
  type RouteMatch,
} from './routing.js'
export {
  isSilenced,
  nextSilenceChange,
  silencedBy,
  silenceSchema,
  silencesExpiringSoon,
  silenceState,
  type Silence,
  type SilenceInput,
  type SilenceRecurrence,
  type SilenceState,
} from './silences.js'
export {
  isInTimeInterval,
  isRouteMuted,
  routeTimeIntervalIssues,
  timeIntervalSchema,
  timeIntervalsSchema,
  type NumberRange,
  type TimeInterval,
  type TimeIntervals,
  type TimeIntervalsInput,
} from './time-intervals.js'
export { weekdays, type Weekday, type WeeklyWindow } from './time-window.js'
