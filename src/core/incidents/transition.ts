import { formatDuration, type Instant } from '../time.js'
import {
  isMoreSevere,
  type Incident,
  type IncidentRoleName,
  type IncidentSeverity,
} from './incident.js'

/** What a timeline entry records; one kind per thing that can happen to an incident. */
export type TimelineKind =
  | 'opened'
  | 'acknowledged'
  | 'retriggered'
  | 'ackTimedOut'
  | 'resolved'
  | 'reopened'
  | 'reassigned'
  | 'roleChanged'
  | 'severityChanged'
  | 'note'
  /** A note the responders chose to publish: the status page shows its text as an update. */
  | 'publicUpdate'
  | 'alertAttached'
  | 'alertResolved'

/** One line of an incident's timeline: when, who (absent for Keel itself), what. */
export interface TimelineEntry {
  at: Instant
  kind: TimelineKind
  by?: string
  text: string
  data?: Record<string, unknown>
}

/** The alert an alert event is about, as the timeline names it. */
export interface IncidentAlertRef {
  fingerprint: string
  summary: string
  severity?: IncidentSeverity
}

/** Something that happens to an incident. `by` names the person or integration acting. */
export type IncidentEvent =
  | { kind: 'trigger'; by: string }
  | { kind: 'acknowledge'; by: string }
  | { kind: 'resolve'; by: string; reason?: string }
  | { kind: 'reopen'; by: string; reason?: string }
  | { kind: 'reassign'; by: string; to: string }
  | { kind: 'setRole'; by: string; role: IncidentRoleName; to?: string }
  | { kind: 'setSeverity'; by: string; severity: IncidentSeverity }
  | { kind: 'addNote'; by: string; text: string; public?: boolean }
  | { kind: 'alertAttached'; alert: IncidentAlertRef; refired?: boolean }
  | { kind: 'alertResolved'; alert: IncidentAlertRef; allAlertsResolved: boolean }
  | { kind: 'ackTimeout' }

/** Why responders should hear about a change. */
export type NotifyReason =
  | 'triggered'
  | 'acknowledged'
  | 'resolved'
  | 'reopened'
  | 'retriggered'
  | 'ackTimedOut'
  | 'reassigned'
  | 'severityRaised'

/**
 * What the engine must do because of a transition, in the same store transaction. Escalation
 * effects are for the escalation engine; until it exists they are returned to the caller.
 */
export type IncidentEffect =
  | { kind: 'timeline'; entry: TimelineEntry }
  | { kind: 'notify'; reason: NotifyReason }
  | { kind: 'scheduleAckTimeout'; at: Instant }
  | { kind: 'cancelAckTimeout' }
  | { kind: 'startEscalation' }
  | { kind: 'stopEscalation' }

/** The outcome of `applyIncidentEvent`: the new incident and its effects, or why not. */
export type TransitionResult =
  { ok: true; incident: Incident; effects: IncidentEffect[] } | { ok: false; reason: string }

/** The facts a new incident starts from. */
export interface NewIncidentInput {
  title: string
  severity: IncidentSeverity
  groupKey: string
  service?: string
  team?: string
  assignee?: string
  ackTimeoutMs?: number
  autoResolve?: boolean
  /** Who opened it: a person, or absent when an alert did. */
  by?: string
}

/** An incident not yet stored, so without its id. */
export type IncidentDraft = Omit<Incident, 'id'>

/** A new triggered incident and the effects of opening it (timeline, notify, escalate). */
export function openIncident(
  input: NewIncidentInput,
  now: Instant,
): { incident: IncidentDraft; effects: IncidentEffect[] } {
  const incident: IncidentDraft = {
    title: input.title,
    severity: input.severity,
    status: 'triggered',
    roles: {},
    groupKey: input.groupKey,
    createdAt: now,
    autoResolve: input.autoResolve ?? true,
    ...(input.assignee !== undefined ? { assignee: input.assignee } : {}),
    ...(input.service !== undefined ? { service: input.service } : {}),
    ...(input.team !== undefined ? { team: input.team } : {}),
    ...(input.ackTimeoutMs !== undefined ? { ackTimeoutMs: input.ackTimeoutMs } : {}),
  }
  const entry: TimelineEntry = {
    at: now,
    kind: 'opened',
    text: `Incident opened (${input.severity}): ${input.title}`,
    data: { severity: input.severity, groupKey: input.groupKey },
    ...(input.by !== undefined ? { by: input.by } : {}),
  }
  return {
    incident,
    effects: [
      { kind: 'timeline', entry },
      { kind: 'notify', reason: 'triggered' },
      { kind: 'startEscalation' },
    ],
  }
}

function refuse(reason: string): TransitionResult {
  return { ok: false, reason }
}

function timeline(
  now: Instant,
  kind: TimelineKind,
  text: string,
  by?: string,
  data?: Record<string, unknown>,
): IncidentEffect {
  return {
    kind: 'timeline',
    entry: {
      at: now,
      kind,
      text,
      ...(by !== undefined ? { by } : {}),
      ...(data !== undefined ? { data } : {}),
    },
  }
}

function withoutAckTimeout(incident: Incident): Incident {
  const { ackTimeoutAt: _dropped, ...rest } = incident
  return rest
}

function name(incident: Incident): string {
  return `incident #${incident.id}`
}

/** The effects and fields of resolving, shared by `resolve` and auto-resolve. */
function resolved(incident: Incident, now: Instant, entry: IncidentEffect): TransitionResult {
  const effects: IncidentEffect[] = [entry]
  // Escalation already stopped at the acknowledgement; only a triggered incident still escalates.
  if (incident.status === 'triggered') effects.push({ kind: 'stopEscalation' })
  if (incident.ackTimeoutAt !== undefined) effects.push({ kind: 'cancelAckTimeout' })
  effects.push({ kind: 'notify', reason: 'resolved' })
  return {
    ok: true,
    incident: { ...withoutAckTimeout(incident), status: 'resolved', resolvedAt: now },
    effects,
  }
}

/** Back to triggered (manual re-trigger or ack timeout): escalation starts over. */
function retriggered(
  incident: Incident,
  entry: IncidentEffect,
  reason: NotifyReason,
  cancelTimeout: boolean,
): TransitionResult {
  const effects: IncidentEffect[] = [entry]
  if (cancelTimeout && incident.ackTimeoutAt !== undefined) {
    effects.push({ kind: 'cancelAckTimeout' })
  }
  effects.push({ kind: 'notify', reason }, { kind: 'startEscalation' })
  return { ok: true, incident: { ...withoutAckTimeout(incident), status: 'triggered' }, effects }
}

/**
 * Applies one event to an incident at `now`. Illegal transitions (acknowledging a resolved
 * incident, resolving twice, a change that changes nothing) return `{ ok: false, reason }` with a
 * reason that names the incident and the way out; the API answers them with 409.
 */
export function applyIncidentEvent(
  incident: Incident,
  event: IncidentEvent,
  now: Instant,
): TransitionResult {
  const open = incident.status !== 'resolved'
  switch (event.kind) {
    case 'trigger': {
      if (incident.status === 'triggered') return refuse(`${name(incident)} is already triggered`)
      if (!open) return refuse(`${name(incident)} is resolved; reopen it instead`)
      return retriggered(
        incident,
        timeline(now, 'retriggered', `Re-triggered by ${event.by}`, event.by),
        'retriggered',
        true,
      )
    }

    case 'acknowledge': {
      if (incident.status === 'acknowledged') {
        return refuse(`${name(incident)} is already acknowledged`)
      }
      if (!open) return refuse(`${name(incident)} is resolved; reopen it before acknowledging`)
      const effects: IncidentEffect[] = [
        timeline(now, 'acknowledged', `Acknowledged by ${event.by}`, event.by),
        { kind: 'stopEscalation' },
      ]
      let next: Incident = {
        ...incident,
        status: 'acknowledged',
        acknowledgedAt: incident.acknowledgedAt ?? now,
        // Whoever acknowledges an unassigned incident owns it, as in PagerDuty and Opsgenie.
        assignee: incident.assignee ?? event.by,
      }
      if (incident.ackTimeoutMs !== undefined && incident.ackTimeoutMs > 0) {
        const at = now + incident.ackTimeoutMs
        next = { ...next, ackTimeoutAt: at }
        effects.push({ kind: 'scheduleAckTimeout', at })
      }
      effects.push({ kind: 'notify', reason: 'acknowledged' })
      return { ok: true, incident: next, effects }
    }

    case 'resolve': {
      if (!open) return refuse(`${name(incident)} is already resolved`)
      const reason = event.reason?.trim()
      return resolved(
        incident,
        now,
        timeline(
          now,
          'resolved',
          `Resolved by ${event.by}${reason ? `: ${reason}` : ''}`,
          event.by,
          reason ? { reason } : undefined,
        ),
      )
    }

    case 'reopen': {
      if (open) return refuse(`${name(incident)} is not resolved (it is ${incident.status})`)
      const reason = event.reason?.trim()
      const { resolvedAt: _resolvedAt, ...rest } = incident
      return {
        ok: true,
        incident: { ...rest, status: 'triggered' },
        effects: [
          timeline(
            now,
            'reopened',
            `Reopened by ${event.by}${reason ? `: ${reason}` : ''}`,
            event.by,
            reason ? { reason } : undefined,
          ),
          { kind: 'notify', reason: 'reopened' },
          { kind: 'startEscalation' },
        ],
      }
    }

    case 'reassign': {
      const to = event.to.trim()
      if (to === '') return refuse(`${name(incident)}: reassign needs someone to assign it to`)
      if (!open) return refuse(`${name(incident)} is resolved; reopen it before reassigning`)
      if (incident.assignee === to) return refuse(`${name(incident)} is already assigned to ${to}`)
      const from = incident.assignee
      return {
        ok: true,
        incident: { ...incident, assignee: to },
        effects: [
          timeline(
            now,
            'reassigned',
            from === undefined
              ? `Assigned to ${to} by ${event.by}`
              : `Reassigned from ${from} to ${to} by ${event.by}`,
            event.by,
            { from: from ?? null, to },
          ),
          { kind: 'notify', reason: 'reassigned' },
        ],
      }
    }

    case 'setRole': {
      const to = event.to?.trim() || undefined
      const current = incident.roles[event.role]
      if (current === to) {
        return refuse(
          to === undefined
            ? `${name(incident)} has no ${event.role} to clear`
            : `${to} is already ${event.role} of ${name(incident)}`,
        )
      }
      const roles = { ...incident.roles }
      if (to === undefined) delete roles[event.role]
      else roles[event.role] = to
      return {
        ok: true,
        incident: { ...incident, roles },
        effects: [
          timeline(
            now,
            'roleChanged',
            to === undefined
              ? `${event.role} role cleared by ${event.by} (was ${current})`
              : `${to} is ${event.role} (set by ${event.by})`,
            event.by,
            { role: event.role, from: current ?? null, to: to ?? null },
          ),
        ],
      }
    }

    case 'setSeverity': {
      if (incident.severity === event.severity) {
        return refuse(`${name(incident)} is already ${event.severity}`)
      }
      const effects: IncidentEffect[] = [
        timeline(
          now,
          'severityChanged',
          `Severity changed from ${incident.severity} to ${event.severity} by ${event.by}`,
          event.by,
          { from: incident.severity, to: event.severity },
        ),
      ]
      if (open && isMoreSevere(event.severity, incident.severity)) {
        effects.push({ kind: 'notify', reason: 'severityRaised' })
      }
      return { ok: true, incident: { ...incident, severity: event.severity }, effects }
    }

    case 'addNote': {
      const text = event.text.trim()
      if (text === '') return refuse(`${name(incident)}: a note needs some text`)
      return {
        ok: true,
        incident,
        effects: [timeline(now, event.public ? 'publicUpdate' : 'note', text, event.by)],
      }
    }

    case 'alertAttached': {
      if (!open) {
        return refuse(`${name(incident)} is resolved; a new alert opens a new incident instead`)
      }
      const { alert } = event
      const effects: IncidentEffect[] = [
        timeline(
          now,
          'alertAttached',
          `${event.refired ? 'Alert fired again' : 'Alert attached'}: ${alert.summary}`,
          undefined,
          { fingerprint: alert.fingerprint },
        ),
      ]
      let next = incident
      if (alert.severity !== undefined && isMoreSevere(alert.severity, incident.severity)) {
        next = { ...incident, severity: alert.severity }
        effects.push(
          timeline(
            now,
            'severityChanged',
            `Severity raised from ${incident.severity} to ${alert.severity} by alert ${alert.summary}`,
            undefined,
            { from: incident.severity, to: alert.severity, fingerprint: alert.fingerprint },
          ),
          { kind: 'notify', reason: 'severityRaised' },
        )
      }
      return { ok: true, incident: next, effects }
    }

    case 'alertResolved': {
      const entry = timeline(
        now,
        'alertResolved',
        `Alert resolved: ${event.alert.summary}`,
        undefined,
        { fingerprint: event.alert.fingerprint },
      )
      // After a manual resolve the alerts still clear later; the timeline records when.
      if (!open || !event.allAlertsResolved || !incident.autoResolve) {
        return { ok: true, incident, effects: [entry] }
      }
      const outcome = resolved(
        incident,
        now,
        timeline(now, 'resolved', 'Resolved automatically: all alerts resolved', undefined, {
          reason: 'all alerts resolved',
        }),
      )
      return outcome.ok ? { ...outcome, effects: [entry, ...outcome.effects] } : outcome
    }

    case 'ackTimeout': {
      if (incident.status !== 'acknowledged') {
        return refuse(`${name(incident)} is ${incident.status}, so no acknowledgement can time out`)
      }
      if (incident.ackTimeoutAt === undefined) {
        return refuse(`${name(incident)} has no acknowledgement timeout`)
      }
      if (incident.ackTimeoutAt > now) {
        return refuse(
          `${name(incident)}: its acknowledgement times out in ${formatDuration(incident.ackTimeoutAt - now)}, not yet`,
        )
      }
      const after = incident.ackTimeoutMs ?? 0
      return retriggered(
        incident,
        timeline(
          now,
          'ackTimedOut',
          `Acknowledgement timed out after ${formatDuration(after)} without a resolve; re-triggered`,
          undefined,
          { ackTimeoutMs: after },
        ),
        'ackTimedOut',
        false,
      )
    }
  }
}
