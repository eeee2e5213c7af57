import type { Instant } from '../time.js'

/** Incident severities, most severe first. */
export const incidentSeverities = ['critical', 'error', 'warning', 'info'] as const

/** How bad an incident is; `critical` pages at once, `info` only records. */
export type IncidentSeverity = (typeof incidentSeverities)[number]

/** The statuses of an incident: triggered → acknowledged → resolved (and back, see `applyIncidentEvent`). */
export const incidentStatuses = ['triggered', 'acknowledged', 'resolved'] as const

/** Where an incident stands in its response. */
export type IncidentStatus = (typeof incidentStatuses)[number]

/** The response roles an incident can have, as in incident.io's lead/scribe/comms. */
export const incidentRoleNames = ['commander', 'scribe', 'communications'] as const

/** One response role. */
export type IncidentRoleName = (typeof incidentRoleNames)[number]

/** Who holds each response role; a role nobody holds is absent. */
export type IncidentRoles = Partial<Record<IncidentRoleName, string>>

/** A human-facing unit of response: what is wrong, how bad, who is on it and where it stands. */
export interface Incident {
  /** Also the number people say ("incident 42"). */
  id: number
  title: string
  severity: IncidentSeverity
  status: IncidentStatus
  assignee?: string
  roles: IncidentRoles
  service?: string
  team?: string
  /** The grouping key its alerts share (`incidentGroupKey`); one open incident per key. */
  groupKey: string
  createdAt: Instant
  /** The first acknowledgement; kept through re-triggers so MTTA measures the first response. */
  acknowledgedAt?: Instant
  resolvedAt?: Instant
  /** How long an acknowledgement holds before the incident re-triggers; absent means forever. */
  ackTimeoutMs?: number
  /** When the current acknowledgement times out, while acknowledged with an `ackTimeoutMs`. */
  ackTimeoutAt?: Instant
  /** Resolve the incident when all its alerts have resolved. */
  autoResolve: boolean
}

// Label values senders use for severity, mapped onto Keel's four (PagerDuty, Opsgenie, Grafana).
const severityWords: Record<string, IncidentSeverity> = {
  critical: 'critical',
  crit: 'critical',
  page: 'critical',
  fatal: 'critical',
  emergency: 'critical',
  p1: 'critical',
  error: 'error',
  err: 'error',
  high: 'error',
  major: 'error',
  p2: 'error',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
  minor: 'warning',
  p3: 'warning',
  info: 'info',
  informational: 'info',
  low: 'info',
  none: 'info',
  p4: 'info',
  p5: 'info',
}

/**
 * The incident severity a `severity` label asks for. A missing or unknown value counts as
 * critical: paging too loudly for a label nobody mapped is the safer mistake.
 */
export function severityFromLabel(value: string | undefined): IncidentSeverity {
  if (value === undefined) return 'critical'
  return severityWords[value.trim().toLowerCase()] ?? 'critical'
}

/** True when `a` is more severe than `b`. */
export function isMoreSevere(a: IncidentSeverity, b: IncidentSeverity): boolean {
  return incidentSeverities.indexOf(a) < incidentSeverities.indexOf(b)
}
