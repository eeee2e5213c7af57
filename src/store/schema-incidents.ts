import type { Generated } from 'kysely'

/** Row types of the incident tables (added by migration 0003). */
export interface IncidentTables {
  incidents: IncidentRow
  incident_alerts: IncidentAlertRow
  incident_timeline: IncidentTimelineRow
}

export interface IncidentRow {
  /** Also the incident's number for people: "incident 42". */
  id: Generated<number>
  title: string
  severity: string
  status: string
  assignee: string | null
  /** JSON `{ commander?, scribe?, communications? }`. */
  roles: string
  service: string | null
  team: string | null
  group_key: string
  created_at: number
  acknowledged_at: number | null
  resolved_at: number | null
  ack_timeout_ms: number | null
  /** When the current acknowledgement runs out; the engine re-triggers the incident then. */
  ack_timeout_at: number | null
  auto_resolve: number
  updated_at: number
}

export interface IncidentAlertRow {
  incident_id: number
  alert_id: number
  attached_at: number
}

export interface IncidentTimelineRow {
  id: Generated<number>
  incident_id: number
  at: number
  kind: string
  /** Who acted; NULL when Keel itself did. */
  actor: string | null
  text: string
  /** JSON object, or NULL. */
  data: string | null
}
