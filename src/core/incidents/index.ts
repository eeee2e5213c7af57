export { defaultIncidentGroupBy, incidentGroupKey } from './group-key.js'
export {
  incidentRoleNames,
  incidentSeverities,
  incidentStatuses,
  isMoreSevere,
  severityFromLabel,
  type Incident,
  type IncidentRoleName,
  type IncidentRoles,
  type IncidentSeverity,
  type IncidentStatus,
} from './incident.js'
export {
  incidentMetrics,
  noGroup,
  type DurationStats,
  type IncidentGroupMetrics,
  type IncidentMetrics,
  type IncidentMetricsGroupBy,
} from './metrics.js'
export { postmortemDraft, type PostmortemAlert } from './postmortem.js'
export {
  applyIncidentEvent,
  openIncident,
  type IncidentAlertRef,
  type IncidentDraft,
  type IncidentEffect,
  type IncidentEvent,
  type NewIncidentInput,
  type NotifyReason,
  type TimelineEntry,
  type TimelineKind,
  type TransitionResult,
} from './transition.js'
