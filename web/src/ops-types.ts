/** Incident severities, worst first (src/core/incidents/incident.ts). */
export const incidentSeverities = ['critical', 'error', 'warning', 'info'] as const

/** One incident severity. */
export type IncidentSeverity = (typeof incidentSeverities)[number]

/** Incident statuses in their usual order. */
export const incidentStatuses = ['triggered', 'acknowledged', 'resolved'] as const

/** One incident status. */
export type IncidentStatus = (typeof incidentStatuses)[number]

/** The response roles an incident can have. */
export const incidentRoleNames = ['commander', 'scribe', 'communications'] as const

/** An incident as `GET /api/v1/incidents` returns it. */
export interface Incident {
  id: number
  title: string
  severity: IncidentSeverity
  status: IncidentStatus
  assignee?: string
  roles: Partial<Record<(typeof incidentRoleNames)[number], string>>
  service?: string
  team?: string
  groupKey: string
  createdAt: number
  acknowledgedAt?: number
  resolvedAt?: number
  ackTimeoutAt?: number
}

/** One line of an incident's timeline. */
export interface TimelineEntry {
  id: number
  at: number
  kind: string
  by?: string
  text: string
  data?: Record<string, unknown>
}

/** An alert linked to an incident. */
export interface LinkedAlert {
  id: number
  fingerprint: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  source: string
  startsAt: number
  endsAt?: number
  attachedAt: number
}

/** `GET /api/v1/incidents/:id`. */
export interface IncidentDetail extends Incident {
  timeline: TimelineEntry[]
  alerts: LinkedAlert[]
}

/** Who is on call in one schedule now (`GET /api/v1/oncall/now`). */
export interface OnCallNow {
  schedule: string
  timeZone: string
  user?: string
  name?: string
  start?: number
  end?: number
  source?: 'layer' | 'override'
  layer?: string
  nextHandoff?: number
}

/** A schedule as `GET /api/v1/schedules` lists it. */
export interface ScheduleSummary {
  id: string
  timeZone: string
  team?: string
  layers: string[]
  /** The users of its layers, for the override form's suggestions. */
  users?: { id: string; name?: string }[]
  overrides: number
  feedPath?: string
}

/** An override made through the API, CLI or UI (`GET /api/v1/schedules/:id/overrides`). */
export interface ScheduleOverride {
  id: string
  scheduleId: string
  user: string
  name?: string
  start: number
  end: number
  note?: string
  createdBy: string
  createdAt: number
}

/** One span of a final schedule; a gap has no user. */
export interface ScheduleSpan {
  start: number
  end: number
  user?: string
  name?: string
  source: 'layer' | 'override' | 'gap'
  layer?: string
}

/** A weekly recurrence of a silence or maintenance window. */
export interface Recurrence {
  days: string[]
  from: string
  to: string
  timeZone?: string
}

/** A silence (`GET /api/v1/silences`). */
export interface Silence {
  id: string
  matchers: string[]
  startsAt: string
  endsAt: string
  comment: string
  createdBy: string
  state: 'pending' | 'active' | 'expired'
  recurrence?: Recurrence
}

/** A maintenance window (`GET /api/v1/maintenance`). */
export interface MaintenanceWindow {
  id: string
  title: string
  description?: string
  matchers: string[]
  timeZone: string
  oneOff?: { start: string; end: string }
  recurring?: { days: string[]; from: string; to: string }
  state: 'scheduled' | 'active' | 'completed'
  source: 'config' | 'api'
  public: boolean
}

/** One field-level problem from a 400 answer. */
export interface FieldIssue {
  path: string
  message: string
}

/** The `{ path, message }` list of an API error's details, whatever shape they came in. */
export function fieldIssues(details: unknown): FieldIssue[] {
  if (!Array.isArray(details)) return []
  return details.flatMap((d: unknown) => {
    if (!d || typeof d !== 'object') return []
    const { path, message } = d as { path?: unknown; message?: unknown }
    if (typeof message !== 'string') return []
    const where = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : ''
    return [{ path: where.replace(/^(body\.|\/)/, '').replace(/\//g, '.'), message }]
  })
}
