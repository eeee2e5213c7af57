import type { Generated } from 'kysely'

/** Row types of the escalation tables (added by migration 0004). */
export interface EscalationTables {
  escalations: EscalationRow
  escalation_steps: EscalationStepRow
  escalation_cursors: EscalationCursorRow
}

/** One incident's escalation: the policy it follows and whether it is still paging. */
export interface EscalationRow {
  incident_id: number
  policy_id: string
  /** 0 for the first escalation of the incident, one more each time it starts over. */
  round: number
  /** `active`, `stopped` (acknowledged or resolved) or `exhausted` (every level paged). */
  status: string
  /** JSON: what the messages say about the incident (title, severity, service, team, labels). */
  subject: string
  started_at: number
  updated_at: number
}

/** A durable, due escalation step; at most one row per (incident, round, level, repeat). */
export interface EscalationStepRow {
  id: Generated<number>
  incident_id: number
  policy_id: string
  round: number
  /** 1-based level of the policy. */
  level: number
  /** 0 for the first pass over the levels, then 1, 2, … for each repeat. */
  repeat_index: number
  due_at: number
  /** `pending`, `done` or `cancelled`. */
  status: string
  lease_owner: string | null
  lease_until: number | null
  attempts: number
  created_at: number
  done_at: number | null
  /** JSON: who was paged on which channels, and which targets gave nobody. */
  outcome: string | null
}

/** How many times a round-robin level has paged, so the next page goes to the next user. */
export interface EscalationCursorRow {
  policy_id: string
  level: number
  position: number
}
