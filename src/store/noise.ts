import type { Selectable } from 'kysely'
import type { Labels } from '../core/alerts/index.js'
import { dialectOf, parseJson, skipLocked, type Executor } from './dialect.js'
import type { AlertGroupRow, MaintenanceWindowRow, SilenceRow } from './schema-noise.js'

/** A silence as stored: matchers as Alertmanager text, instants in epoch ms. */
export interface StoredSilence {
  id: string
  matchers: string[]
  startsAt: number
  endsAt: number
  recurrence?: { days: string[]; from: string; to: string; timeZone: string; until?: number }
  comment: string
  createdBy: string
  createdAt: number
  updatedAt: number
  expiryNotifiedAt?: number
}

function silenceFromRow(row: Selectable<SilenceRow>): StoredSilence {
  return {
    id: row.id,
    matchers: parseJson(row.matchers, []),
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    ...(row.recurrence !== null ? { recurrence: parseJson(row.recurrence, undefined) } : {}),
    comment: row.comment,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.expiry_notified_at !== null
      ? { expiryNotifiedAt: Number(row.expiry_notified_at) }
      : {}),
  }
}

/** Stores a new silence. */
export async function insertSilence(db: Executor, silence: StoredSilence): Promise<void> {
  await db
    .insertInto('silences')
    .values({
      id: silence.id,
      matchers: JSON.stringify(silence.matchers),
      starts_at: silence.startsAt,
      ends_at: silence.endsAt,
      recurrence: silence.recurrence ? JSON.stringify(silence.recurrence) : null,
      comment: silence.comment,
      created_by: silence.createdBy,
      created_at: silence.createdAt,
      updated_at: silence.updatedAt,
      expiry_notified_at: null,
    })
    .execute()
}

/** Silences, newest first; `endingAfter` keeps only those that end after that instant. */
export async function listSilences(
  db: Executor,
  filter: { endingAfter?: number; limit?: number } = {},
): Promise<StoredSilence[]> {
  let query = db
    .selectFrom('silences')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(filter.limit ?? 1000)
  if (filter.endingAfter !== undefined) query = query.where('ends_at', '>', filter.endingAfter)
  return (await query.execute()).map(silenceFromRow)
}

/** One silence by id. */
export async function getSilence(db: Executor, id: string): Promise<StoredSilence | undefined> {
  const row = await db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? silenceFromRow(row) : undefined
}

/** Ends a silence at `now` (a pending one ends before it starts). Returns whether it changed. */
export async function expireSilence(db: Executor, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('silences')
    .set({ ends_at: now, updated_at: now })
    .where('id', '=', id)
    .where('ends_at', '>', now)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/**
 * Silences that end within `noticeMs` after `now` and were not yet announced: the ones whose
 * "expires soon" notice is due. Recurring silences are announced before their final end.
 */
export async function silencesDueForExpiryNotice(
  db: Executor,
  now: number,
  noticeMs: number,
): Promise<StoredSilence[]> {
  const rows = await db
    .selectFrom('silences')
    .selectAll()
    .where('expiry_notified_at', 'is', null)
    .where('ends_at', '>', now)
    .where('ends_at', '<=', now + noticeMs)
    .where('starts_at', '<=', now)
    .orderBy('ends_at')
    .limit(100)
    .execute()
  return rows.map(silenceFromRow)
}

/** Records that a silence's expiry notice went out; false when another node did it first. */
export async function markSilenceExpiryNotified(
  db: Executor,
  id: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('silences')
    .set({ expiry_notified_at: now })
    .where('id', '=', id)
    .where('expiry_notified_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** A maintenance window as stored by the API. */
export interface StoredMaintenanceWindow {
  id: string
  title: string
  description?: string
  matchers: string[]
  timeZone: string
  oneOff?: { start: number; end: number }
  recurring?: { days: string[]; from: string; to: string }
  public: boolean
  createdBy: string
  createdAt: number
  updatedAt: number
}

function maintenanceFromRow(row: Selectable<MaintenanceWindowRow>): StoredMaintenanceWindow {
  return {
    id: row.id,
    title: row.title,
    ...(row.description !== null ? { description: row.description } : {}),
    matchers: parseJson(row.matchers, []),
    timeZone: row.time_zone,
    ...(row.one_off_start !== null && row.one_off_end !== null
      ? { oneOff: { start: Number(row.one_off_start), end: Number(row.one_off_end) } }
      : {}),
    ...(row.recurring !== null ? { recurring: parseJson(row.recurring, undefined) } : {}),
    public: row.public === 1,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

/** Stores a new maintenance window. */
export async function insertMaintenanceWindow(
  db: Executor,
  window: StoredMaintenanceWindow,
): Promise<void> {
  await db
    .insertInto('maintenance_windows')
    .values({
      id: window.id,
      title: window.title,
      description: window.description ?? null,
      matchers: JSON.stringify(window.matchers),
      time_zone: window.timeZone,
      one_off_start: window.oneOff?.start ?? null,
      one_off_end: window.oneOff?.end ?? null,
      recurring: window.recurring ? JSON.stringify(window.recurring) : null,
      public: window.public ? 1 : 0,
      created_by: window.createdBy,
      created_at: window.createdAt,
      updated_at: window.updatedAt,
    })
    .execute()
}

/** Every maintenance window made through the API, oldest first. */
export async function listMaintenanceRows(db: Executor): Promise<StoredMaintenanceWindow[]> {
  const rows = await db
    .selectFrom('maintenance_windows')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map(maintenanceFromRow)
}

/** Deletes an API-made maintenance window; returns whether it existed. */
export async function deleteMaintenanceWindow(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('maintenance_windows').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Sets (or clears, with null) why a firing alert is muted. */
export async function setAlertSuppression(
  db: Executor,
  fingerprint: string,
  suppressedBy: string | null,
): Promise<void> {
  await db
    .updateTable('alerts')
    .set({ suppressed_by: suppressedBy })
    .where('fingerprint', '=', fingerprint)
    .execute()
}

/** A firing alert as suppression decisions need it. */
export interface FiringAlertLabels {
  fingerprint: string
  labels: Labels
  suppressedBy?: string
}

/** Firing alerts with their labels and suppression, at most `limit` (newest first). */
export async function listFiringAlertLabels(
  db: Executor,
  options: { suppressedOnly?: boolean; limit?: number } = {},
): Promise<FiringAlertLabels[]> {
  let query = db
    .selectFrom('alerts')
    .select(['fingerprint', 'labels', 'suppressed_by'])
    .where('status', '=', 'firing')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 10_000)
  if (options.suppressedOnly) query = query.where('suppressed_by', 'is not', null)
  const rows = await query.execute()
  return rows.map((row) => ({
    fingerprint: row.fingerprint,
    labels: parseJson(row.labels, {}),
    ...(row.suppressed_by !== null ? { suppressedBy: row.suppressed_by } : {}),
  }))
}

/** A durable aggregation group. */
export interface StoredAlertGroup<State> {
  key: string
  routeId: string
  receiver: string
  labels: Labels
  state: State
  nextFlushAt: number
}

function groupFromRow<State>(row: Selectable<AlertGroupRow>): StoredAlertGroup<State> {
  return {
    key: row.key,
    routeId: row.route_id,
    receiver: row.receiver,
    labels: parseJson(row.labels, {}),
    state: JSON.parse(row.state) as State,
    nextFlushAt: Number(row.next_flush_at),
  }
}

/** One group by key, locked for the caller's transaction on PostgreSQL. */
export async function getAlertGroup<State>(
  db: Executor,
  key: string,
): Promise<StoredAlertGroup<State> | undefined> {
  const row = await db
    .selectFrom('alert_groups')
    .selectAll()
    .where('key', '=', key)
    .$if(dialectOf(db) === 'postgres', (q) => q.forUpdate())
    .executeTakeFirst()
  return row ? groupFromRow<State>(row) : undefined
}

/** Inserts or replaces a group, releasing any lease on it. */
export async function saveAlertGroup<State>(
  db: Executor,
  group: StoredAlertGroup<State>,
  now: number,
): Promise<void> {
  const values = {
    route_id: group.routeId,
    receiver: group.receiver,
    labels: JSON.stringify(group.labels),
    state: JSON.stringify(group.state),
    next_flush_at: group.nextFlushAt,
    lease_owner: null,
    lease_until: null,
    updated_at: now,
  }
  await db
    .insertInto('alert_groups')
    .values({ key: group.key, ...values })
    .onConflict((oc) => oc.column('key').doUpdateSet(values))
    .execute()
}

/** Removes a group that has no alerts left. */
export async function deleteAlertGroup(db: Executor, key: string): Promise<void> {
  await db.deleteFrom('alert_groups').where('key', '=', key).execute()
}

/** Leases up to `limit` groups whose timer is due, so one node flushes each. Returns their keys. */
export async function claimDueAlertGroups(
  db: Executor,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<string[]> {
  const due = db
    .selectFrom('alert_groups')
    .select('key')
    .where('next_flush_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('next_flush_at')
    .limit(limit)
    .modifyEnd(skipLocked(db))
  const rows = await db
    .updateTable('alert_groups')
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where('key', 'in', due)
    .returning('key')
    .execute()
  return rows.map((row) => row.key)
}

/** The earliest group timer, so the flusher can sleep until then. */
export async function nextAlertGroupDue(db: Executor): Promise<number | undefined> {
  const row = await db
    .selectFrom('alert_groups')
    .select((eb) => eb.fn.min('next_flush_at').as('due'))
    .executeTakeFirst()
  return row?.due === null || row?.due === undefined ? undefined : Number(row.due)
}

/** Every group, for the API and tests. */
export async function listAlertGroups<State>(db: Executor): Promise<StoredAlertGroup<State>[]> {
  const rows = await db.selectFrom('alert_groups').selectAll().orderBy('key').execute()
  return rows.map((row) => groupFromRow<State>(row))
}
