import { ConflictError, InputError, NotFoundError } from '../core/errors.js'
import {
  incidentMetrics,
  incidentRoleNames,
  incidentSeverities,
  postmortemDraft,
  type Incident,
  type IncidentEvent,
  type IncidentMetrics,
  type IncidentMetricsGroupBy,
  type IncidentRoleName,
  type IncidentSeverity,
} from '../core/incidents/index.js'
import { applyStoredIncidentEvent } from '../engine/incidents.js'
import { appendAudit } from '../store/audit.js'
import type { Executor } from '../store/dialect.js'
import {
  findOpenIncident,
  getIncident,
  listIncidentAlerts,
  listIncidents,
  listIncidentsOpenedBetween,
  listTimeline,
  type IncidentFilter,
  type LinkedAlert,
  type StoredTimelineEntry,
} from '../store/incidents.js'
import { requireTeamAccess } from './auth.js'
import type { ServiceContext } from './context.js'

/** An incident with its timeline and linked alerts, as `GET /incidents/:id` and `keel incident show` give it. */
export interface IncidentDetail extends Incident {
  timeline: StoredTimelineEntry[]
  alerts: LinkedAlert[]
}

/** A page of incidents and the cursor of the next one. */
export interface IncidentPage {
  items: Incident[]
  next?: string
}

/** The longest note, reason or name accepted; a timeline is for people to read. */
export const maxIncidentTextLength = 10_000

const dayMs = 86_400_000

/**
 * The incident number in `text` (`42` or `#42`). Anything else names no incident, so it is a
 * NotFoundError rather than a bad request: the same answer as for a number nobody has.
 */
export function parseIncidentId(text: string | number): number {
  if (typeof text === 'number' && Number.isSafeInteger(text) && text > 0) return text
  const match = /^#?(\d{1,15})$/.exec(String(text).trim())
  if (!match) {
    throw new NotFoundError(
      `incident ${JSON.stringify(String(text))} does not exist; incidents are numbered, e.g. 42`,
    )
  }
  return Number(match[1])
}

async function incidentOrThrow(db: Executor, id: string | number, lock = false): Promise<Incident> {
  const number = parseIncidentId(id)
  const incident = await getIncident(db, number, { lock })
  if (!incident) throw new NotFoundError(`incident #${number} does not exist`)
  return incident
}

function text(value: unknown, field: string, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required)
      throw new InputError(`${field} is required`, {
        details: [{ path: field, message: 'is required' }],
      })
    return undefined
  }
  if (typeof value !== 'string') {
    throw new InputError(`${field} must be a string, got ${typeof value}`, {
      details: [{ path: field, message: 'must be a string' }],
    })
  }
  const trimmed = value.trim()
  if (trimmed === '') {
    if (required) {
      throw new InputError(`${field} must not be empty`, {
        details: [{ path: field, message: 'must not be empty' }],
      })
    }
    return undefined
  }
  if (trimmed.length > maxIncidentTextLength) {
    throw new InputError(
      `${field} is ${trimmed.length} characters, at most ${maxIncidentTextLength}; shorten it or link to a document`,
      { details: [{ path: field, message: 'too long' }] },
    )
  }
  return trimmed
}

/** The fields of an incident a person changes, as the audit trail's before/after snapshot. */
function auditedIncident(incident: Incident) {
  return {
    status: incident.status,
    severity: incident.severity,
    ...(incident.assignee !== undefined ? { assignee: incident.assignee } : {}),
    roles: incident.roles,
  }
}

/**
 * Applies one event to an incident for the acting person, in one transaction: the state machine
 * decides, an illegal change is a ConflictError with its reason (HTTP 409), and a legal one is
 * written with its timeline entries and an audit event.
 */
/** Incident changes that need an operator (routes and team scope agree); the rest need a responder. */
const operatorActions = new Set(['incident.reassign', 'incident.severity', 'incident.roles'])

/**
 * A team-scoped actor (a token or user given roles per team) may respond only to incidents of
 * its teams, with the role the action needs in that team; the incident's team is the `team`
 * label its alerts carried when it opened.
 */
function requireIncidentTeam(ctx: ServiceContext, incident: Incident, action = ''): void {
  requireTeamAccess(ctx.actor, operatorActions.has(action) ? 'operator' : 'responder', {
    type: 'incident',
    id: `#${incident.id}`,
    team: incident.team,
  })
}

async function changeIncident(
  ctx: ServiceContext,
  id: string | number,
  action: string,
  event: IncidentEvent,
  details: Record<string, unknown> = {},
  check?: (trx: Executor, incident: Incident) => Promise<void>,
): Promise<Incident> {
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    const incident = await incidentOrThrow(trx, id, true)
    requireIncidentTeam(ctx, incident, action)
    await check?.(trx, incident)
    const result = await applyStoredIncidentEvent(trx, incident, event, now)
    if (!result.ok) throw new ConflictError(result.reason)
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action,
      objectType: 'incident',
      objectId: String(incident.id),
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: {
        ...details,
        status: result.incident.status,
        before: auditedIncident(incident),
        after: auditedIncident(result.incident),
      },
    })
    return result.incident
  })
}

/** A page of incidents, newest first. */
export async function listIncidentPage(
  ctx: Pick<ServiceContext, 'db'>,
  filter: Omit<IncidentFilter, 'limit'> & { limit?: number },
): Promise<IncidentPage> {
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000)
  const rows = await listIncidents(ctx.db, { ...filter, limit: limit + 1 })
  if (rows.length <= limit) return { items: rows }
  const items = rows.slice(0, limit)
  return { items, next: String(items[items.length - 1]?.id) }
}

/** One incident with its timeline and alerts, or NotFoundError. */
export async function getIncidentDetail(
  ctx: Pick<ServiceContext, 'db'>,
  id: string | number,
): Promise<IncidentDetail> {
  const incident = await incidentOrThrow(ctx.db, id)
  const [timeline, alerts] = await Promise.all([
    listTimeline(ctx.db, incident.id),
    listIncidentAlerts(ctx.db, incident.id),
  ])
  return { ...incident, timeline, alerts }
}

/** Acknowledges an incident: escalation stops and the ack timeout starts. */
export async function acknowledgeIncident(
  ctx: ServiceContext,
  id: string | number,
): Promise<Incident> {
  return changeIncident(ctx, id, 'incident.acknowledge', {
    kind: 'acknowledge',
    by: ctx.actor.name,
  })
}

/** Resolves an incident, with an optional reason for the timeline. */
export async function resolveIncident(
  ctx: ServiceContext,
  id: string | number,
  input: { reason?: unknown } = {},
): Promise<Incident> {
  const reason = text(input.reason, 'reason', false)
  return changeIncident(
    ctx,
    id,
    'incident.resolve',
    { kind: 'resolve', by: ctx.actor.name, ...(reason ? { reason } : {}) },
    reason ? { reason } : {},
  )
}

/**
 * Reopens a resolved incident. Refused while another incident is open for the same group of
 * alerts, since new alerts already go there and two open incidents would split the response.
 */
export async function reopenIncident(
  ctx: ServiceContext,
  id: string | number,
  input: { reason?: unknown } = {},
): Promise<Incident> {
  const reason = text(input.reason, 'reason', false)
  return changeIncident(
    ctx,
    id,
    'incident.reopen',
    { kind: 'reopen', by: ctx.actor.name, ...(reason ? { reason } : {}) },
    reason ? { reason } : {},
    async (trx, incident) => {
      if (incident.status !== 'resolved') return
      const other = await findOpenIncident(trx, incident.groupKey, { lock: true })
      if (other && other.id !== incident.id) {
        throw new ConflictError(
          `incident #${incident.id} cannot be reopened: incident #${other.id} is open for the same alerts (${incident.groupKey}); add a note there or resolve it first`,
        )
      }
    },
  )
}

/** Assigns an incident to someone else. */
export async function reassignIncident(
  ctx: ServiceContext,
  id: string | number,
  input: { to?: unknown },
): Promise<Incident> {
  const to = text(input.to, 'to', true) as string
  return changeIncident(
    ctx,
    id,
    'incident.reassign',
    { kind: 'reassign', by: ctx.actor.name, to },
    { to },
  )
}

/** Sets or clears (with null) the response roles named in `input`; unchanged ones are skipped. */
export async function setIncidentRoles(
  ctx: ServiceContext,
  id: string | number,
  input: Partial<Record<IncidentRoleName, unknown>>,
): Promise<Incident> {
  const wanted = new Map<IncidentRoleName, string | undefined>()
  for (const role of incidentRoleNames) {
    if (!(role in input)) continue
    wanted.set(role, text(input[role], role, false))
  }
  for (const key of Object.keys(input)) {
    if (!(incidentRoleNames as readonly string[]).includes(key)) {
      throw new InputError(`${key} is not an incident role; use ${incidentRoleNames.join(', ')}`, {
        details: [{ path: key, message: 'unknown role' }],
      })
    }
  }
  if (wanted.size === 0) {
    throw new InputError(
      `name at least one role to set: ${incidentRoleNames.join(', ')} (a name, or null to clear it)`,
    )
  }
  const now = ctx.clock.now()
  return ctx.db.transaction().execute(async (trx) => {
    let incident = await incidentOrThrow(trx, id, true)
    requireIncidentTeam(ctx, incident, 'incident.roles')
    const changed: Record<string, string | null> = {}
    for (const [role, to] of wanted) {
      if (incident.roles[role] === to) continue
      const result = await applyStoredIncidentEvent(
        trx,
        incident,
        { kind: 'setRole', by: ctx.actor.name, role, ...(to !== undefined ? { to } : {}) },
        now,
      )
      if (!result.ok) throw new ConflictError(result.reason)
      incident = result.incident
      changed[role] = to ?? null
    }
    if (Object.keys(changed).length === 0) {
      throw new ConflictError(`incident #${incident.id} already has these roles; nothing changed`)
    }
    await appendAudit(trx, {
      at: now,
      actor: ctx.actor.name,
      action: 'incident.roles',
      objectType: 'incident',
      objectId: String(incident.id),
      ...(ctx.actor.source ? { source: ctx.actor.source } : {}),
      details: { roles: changed },
    })
    return incident
  })
}

/**
 * Adds a note to an incident's timeline (allowed in every state, for the postmortem too). With
 * `public: true` it is also an update on the public status page, in the responder's words.
 */
export async function addIncidentNote(
  ctx: ServiceContext,
  id: string | number,
  input: { text?: unknown; public?: unknown },
): Promise<Incident> {
  const note = text(input.text, 'text', true) as string
  if (input.public !== undefined && typeof input.public !== 'boolean') {
    throw new InputError(`public must be true or false, got ${JSON.stringify(input.public)}`, {
      details: [{ path: 'public', message: 'not a boolean' }],
    })
  }
  const published = input.public === true
  return changeIncident(
    ctx,
    id,
    published ? 'incident.publicUpdate' : 'incident.note',
    { kind: 'addNote', by: ctx.actor.name, text: note, ...(published ? { public: true } : {}) },
    { text: note, ...(published ? { public: true } : {}) },
  )
}

/** Changes an incident's severity. */
export async function setIncidentSeverity(
  ctx: ServiceContext,
  id: string | number,
  input: { severity?: unknown },
): Promise<Incident> {
  const severity = input.severity
  if (!incidentSeverities.includes(severity as IncidentSeverity)) {
    throw new InputError(
      `severity must be one of ${incidentSeverities.join(', ')}, got ${JSON.stringify(severity)}`,
      { details: [{ path: 'severity', message: 'unknown severity' }] },
    )
  }
  return changeIncident(
    ctx,
    id,
    'incident.severity',
    { kind: 'setSeverity', by: ctx.actor.name, severity: severity as IncidentSeverity },
    { severity },
  )
}

/** A markdown postmortem draft of an incident. */
export async function incidentPostmortem(
  ctx: Pick<ServiceContext, 'db'>,
  id: string | number,
): Promise<string> {
  const detail = await getIncidentDetail(ctx, id)
  const { timeline, alerts, ...incident } = detail
  return postmortemDraft(incident, timeline, alerts)
}

/** Options of the MTTA/MTTR report; `to` defaults to now and `from` to 30 days before it. */
export interface MttaMttrOptions {
  from?: number
  to?: number
  groupBy?: IncidentMetricsGroupBy
}

/** MTTA and MTTR per service or team over the incidents opened in `[from, to)`. */
export async function mttaMttrReport(
  ctx: Pick<ServiceContext, 'db' | 'clock'>,
  options: MttaMttrOptions = {},
): Promise<IncidentMetrics> {
  const to = options.to ?? ctx.clock.now()
  const from = options.from ?? to - 30 * dayMs
  if (from >= to) {
    throw new InputError(`from must be before to; got from=${from}, to=${to}`, {
      details: [{ path: 'from', message: 'must be before to' }],
    })
  }
  const groupBy = options.groupBy ?? 'service'
  if (groupBy !== 'service' && groupBy !== 'team') {
    throw new InputError(`groupBy must be service or team, got ${JSON.stringify(groupBy)}`, {
      details: [{ path: 'groupBy', message: 'must be service or team' }],
    })
  }
  const incidents = await listIncidentsOpenedBetween(ctx.db, from, to)
  return incidentMetrics(incidents, from, to, groupBy)
}
