import { sql, type Selectable } from 'kysely'
import type {
  Incident,
  IncidentDraft,
  IncidentRoles,
  IncidentSeverity,
  IncidentStatus,
  TimelineEntry,
} from '../core/incidents/index.js'
import { alertFromRow, type Alert } from './alerts.js'
import { dialectOf, parseJson, skipLocked, type Executor } from './dialect.js'
import type { IncidentRow } from './schema-incidents.js'

/** Filters for listing incidents; `open` means triggered or acknowledged. */
export interface IncidentFilter {
  status?: IncidentStatus | 'open'
  service?: string
  team?: string
  severity?: IncidentSeverity
  /** Keyset cursor: only incidents with a smaller id (the list is newest first). */
  beforeId?: number
  limit?: number
}

/** A timeline entry as stored. */
export interface StoredTimelineEntry extends TimelineEntry {
  id: number
  incidentId: number
}

/** An alert linked to an incident, with when it joined. */
export interface LinkedAlert extends Alert {
  attachedAt: number
}

/** Options of the reads that can lock the row for the rest of the transaction. */
export interface LockOptions {
  /** Lock the row (PostgreSQL `FOR UPDATE`); SQLite's single writer already serialises. */
  lock?: boolean
}

function incidentFromRow(row: Selectable<IncidentRow>): Incident {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity as IncidentSeverity,
    status: row.status as IncidentStatus,
    ...(row.assignee !== null ? { assignee: row.assignee } : {}),
    roles: parseJson<IncidentRoles>(row.roles, {}),
    ...(row.service !== null ? { service: row.service } : {}),
    ...(row.team !== null ? { team: row.team } : {}),
    groupKey: row.group_key,
    createdAt: row.created_at,
    ...(row.acknowledged_at !== null ? { acknowledgedAt: row.acknowledged_at } : {}),
    ...(row.resolved_at !== null ? { resolvedAt: row.resolved_at } : {}),
    ...(row.ack_timeout_ms !== null ? { ackTimeoutMs: row.ack_timeout_ms } : {}),
    ...(row.ack_timeout_at !== null ? { ackTimeoutAt: row.ack_timeout_at } : {}),
    autoResolve: row.auto_resolve === 1,
  }
}

/** The columns a transition may change. */
function mutableColumns(incident: IncidentDraft) {
  return {
    title: incident.title,
    severity: incident.severity,
    status: incident.status,
    assignee: incident.assignee ?? null,
    roles: JSON.stringify(incident.roles),
    service: incident.service ?? null,
    team: incident.team ?? null,
    acknowledged_at: incident.acknowledgedAt ?? null,
    resolved_at: incident.resolvedAt ?? null,
    ack_timeout_ms: incident.ackTimeoutMs ?? null,
    ack_timeout_at: incident.ackTimeoutAt ?? null,
    auto_resolve: incident.autoResolve ? 1 : 0,
  }
}

function forUpdate(db: Executor, options: LockOptions) {
  return options.lock && dialectOf(db) === 'postgres' ? sql`for update` : sql``
}

/**
 * Inserts a new incident, unless its group already has an open one: then nothing is written and
 * the result is undefined, so the caller attaches to that one instead. A partial unique index
 * makes this hold across nodes, where two transactions could otherwise both see no open incident.
 */
export async function insertIncident(
  db: Executor,
  draft: IncidentDraft,
  now: number,
): Promise<Incident | undefined> {
  const row = await db
    .insertInto('incidents')
    .values({
      ...mutableColumns(draft),
      group_key: draft.groupKey,
      created_at: draft.createdAt,
      updated_at: now,
    })
    // Must match the predicate of the `incidents_open_group` index (migration 0003) exactly.
    .onConflict((oc) =>
      oc
        .column('group_key')
        .where(sql<boolean>`status <> 'resolved'`)
        .doNothing(),
    )
    .returningAll()
    .executeTakeFirst()
  return row ? incidentFromRow(row) : undefined
}

/** One incident by id. */
export async function getIncident(
  db: Executor,
  id: number,
  options: LockOptions = {},
): Promise<Incident | undefined> {
  const row = await db
    .selectFrom('incidents')
    .selectAll()
    .where('id', '=', id)
    .modifyEnd(forUpdate(db, options))
    .executeTakeFirst()
  return row ? incidentFromRow(row) : undefined
}

/** The open (triggered or acknowledged) incident of a group key, if any. */
export async function findOpenIncident(
  db: Executor,
  groupKey: string,
  options: LockOptions = {},
): Promise<Incident | undefined> {
  const row = await db
    .selectFrom('incidents')
    .selectAll()
    .where('group_key', '=', groupKey)
    .where(sql<boolean>`status <> 'resolved'`)
    .modifyEnd(forUpdate(db, options))
    .executeTakeFirst()
  return row ? incidentFromRow(row) : undefined
}

/** An open incident with the labels of its alerts, in the order they joined. */
export interface OpenIncidentLabels {
  id: number
  status: IncidentStatus
  service?: string
  alertLabels: Record<string, string>[]
}

/**
 * Every open incident with its alerts' labels (for dependency grouping, which reads the catalog
 * entity each alert names). One query; open incidents are few, so the labels are read in code
 * rather than through each dialect's JSON operators.
 */
export async function listOpenIncidentLabels(db: Executor): Promise<OpenIncidentLabels[]> {
  const rows = await db
    .selectFrom('incidents')
    .leftJoin('incident_alerts', 'incident_alerts.incident_id', 'incidents.id')
    .leftJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select([
      'incidents.id as id',
      'incidents.status as status',
      'incidents.service as service',
      'alerts.labels as labels',
    ])
    .where(sql<boolean>`incidents.status <> 'resolved'`)
    .orderBy('incidents.id')
    .orderBy('incident_alerts.attached_at')
    .orderBy('alerts.id')
    .execute()
  const byId = new Map<number, OpenIncidentLabels>()
  for (const row of rows) {
    let incident = byId.get(row.id)
    if (!incident) {
      incident = {
        id: row.id,
        status: row.status as IncidentStatus,
        ...(row.service !== null ? { service: row.service } : {}),
        alertLabels: [],
      }
      byId.set(row.id, incident)
    }
    if (row.labels !== null) {
      incident.alertLabels.push(parseJson<Record<string, string>>(row.labels, {}))
    }
  }
  return [...byId.values()]
}

/** Writes an incident's changed fields (status, times, people, severity). */
export async function saveIncident(db: Executor, incident: Incident, now: number): Promise<void> {
  await db
    .updateTable('incidents')
    .set({ ...mutableColumns(incident), updated_at: now })
    .where('id', '=', incident.id)
    .execute()
}

/** Incidents, newest first, keyset-paginated by id. */
export async function listIncidents(
  db: Executor,
  filter: IncidentFilter = {},
): Promise<Incident[]> {
  let query = db
    .selectFrom('incidents')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.status === 'open') query = query.where('status', 'in', ['triggered', 'acknowledged'])
  else if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.service !== undefined) query = query.where('service', '=', filter.service)
  if (filter.team !== undefined) query = query.where('team', '=', filter.team)
  if (filter.severity !== undefined) query = query.where('severity', '=', filter.severity)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return (await query.execute()).map(incidentFromRow)
}

/** Incidents opened in `[from, to)`, oldest first, for reports. */
export async function listIncidentsOpenedBetween(
  db: Executor,
  from: number,
  to: number,
): Promise<Incident[]> {
  const rows = await db
    .selectFrom('incidents')
    .selectAll()
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map(incidentFromRow)
}

/** Links an alert to an incident; false when it was linked already. */
export async function attachAlert(
  db: Executor,
  incidentId: number,
  alertId: number,
  at: number,
): Promise<boolean> {
  const result = await db
    .insertInto('incident_alerts')
    .values({ incident_id: incidentId, alert_id: alertId, attached_at: at })
    .onConflict((oc) => oc.columns(['incident_id', 'alert_id']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}

/** The alerts linked to an incident, in the order they joined. */
export async function listIncidentAlerts(db: Executor, incidentId: number): Promise<LinkedAlert[]> {
  const rows = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .selectAll('alerts')
    .select('incident_alerts.attached_at')
    .where('incident_alerts.incident_id', '=', incidentId)
    .orderBy('incident_alerts.attached_at')
    .orderBy('alerts.id')
    .execute()
  return rows.map(({ attached_at, ...row }) => ({ ...alertFromRow(row), attachedAt: attached_at }))
}

/** How many of an incident's alerts are still firing. */
export async function countFiringAlerts(db: Executor, incidentId: number): Promise<number> {
  const row = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('incident_alerts.incident_id', '=', incidentId)
    .where('alerts.status', '=', 'firing')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * The incident an alert belongs to now: the newest one it was linked to. An alert joins at most
 * one open incident at a time, so an older link is to an incident that has been resolved.
 */
export async function currentIncidentOfAlert(
  db: Executor,
  alertId: number,
  options: LockOptions = {},
): Promise<Incident | undefined> {
  // One statement (this runs for every deduplicated alert event): the newest link, and its row.
  const row = await db
    .selectFrom('incidents')
    .selectAll()
    .where('id', '=', (eb) =>
      eb
        .selectFrom('incident_alerts')
        .select('incident_id')
        .where('alert_id', '=', alertId)
        .orderBy('incident_id', 'desc')
        .limit(1),
    )
    .modifyEnd(forUpdate(db, options))
    .executeTakeFirst()
  return row ? incidentFromRow(row) : undefined
}

/** Appends entries to an incident's timeline. */
export async function appendTimeline(
  db: Executor,
  incidentId: number,
  entries: readonly TimelineEntry[],
): Promise<void> {
  if (entries.length === 0) return
  await db
    .insertInto('incident_timeline')
    .values(
      entries.map((e) => ({
        incident_id: incidentId,
        at: e.at,
        kind: e.kind,
        actor: e.by ?? null,
        text: e.text,
        data: e.data === undefined ? null : JSON.stringify(e.data),
      })),
    )
    .execute()
}

/** An incident's timeline, oldest first, keyset-paginated by id. */
export async function listTimeline(
  db: Executor,
  incidentId: number,
  options: { afterId?: number; limit?: number } = {},
): Promise<StoredTimelineEntry[]> {
  let query = db
    .selectFrom('incident_timeline')
    .selectAll()
    .where('incident_id', '=', incidentId)
    .orderBy('id')
    .limit(options.limit ?? 1000)
  if (options.afterId !== undefined) query = query.where('id', '>', options.afterId)
  const rows = await query.execute()
  return rows.map((r) => ({
    id: r.id,
    incidentId: r.incident_id,
    at: r.at,
    kind: r.kind as TimelineEntry['kind'],
    ...(r.actor !== null ? { by: r.actor } : {}),
    text: r.text,
    ...(r.data !== null ? { data: parseJson<Record<string, unknown>>(r.data, {}) } : {}),
  }))
}

/**
 * Acknowledged incidents whose acknowledgement has run out at `now`, oldest deadline first,
 * locked for the caller's transaction (PostgreSQL skips rows another node holds).
 */
export async function claimExpiredAcks(
  db: Executor,
  now: number,
  limit: number,
): Promise<Incident[]> {
  const rows = await db
    .selectFrom('incidents')
    .selectAll()
    .where('ack_timeout_at', 'is not', null)
    .where('ack_timeout_at', '<=', now)
    .where('status', '=', 'acknowledged')
    .orderBy('ack_timeout_at')
    .orderBy('id')
    .limit(limit)
    .modifyEnd(skipLocked(db))
    .execute()
  return rows.map(incidentFromRow)
}

/** What the live incident feed compares: an incident's last write and its newest timeline entry. */
export interface IncidentStamp {
  id: number
  updatedAt: number
  lastEntryId: number
}

/** Stamps of the incidents written at or after `since`, for the UI's live event stream. */
export async function listIncidentStamps(db: Executor, since: number): Promise<IncidentStamp[]> {
  const rows = await db
    .selectFrom('incidents')
    .select((eb) => [
      'incidents.id',
      'incidents.updated_at',
      eb
        .selectFrom('incident_timeline')
        .select((t) => t.fn.max('incident_timeline.id').as('last'))
        .whereRef('incident_timeline.incident_id', '=', 'incidents.id')
        .as('last_entry'),
    ])
    .where('incidents.updated_at', '>=', since)
    .execute()
  return rows.map((r) => ({
    id: r.id,
    updatedAt: Number(r.updated_at),
    lastEntryId: Number(r.last_entry ?? 0),
  }))
}
