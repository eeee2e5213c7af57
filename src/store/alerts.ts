import type { Selectable } from 'kysely'
import type { AlertEvent, Labels } from '../core/alerts/index.js'
import { parseJson, type Executor } from './dialect.js'
import type { AlertRow } from './schema.js'

/** An alert as stored, one row per fingerprint. */
export interface Alert {
  id: number
  fingerprint: string
  status: 'firing' | 'resolved'
  labels: Labels
  annotations: Record<string, string>
  source: string
  startsAt: number
  endsAt?: number
  updatedAt: number
  eventCount: number
  /** Why the firing alert is muted (`silence:<id>`, `maintenance:<id>`, `inhibited:<fp>`). */
  suppressedBy?: string
}

/** What an upsert did, so callers notify only on real changes. */
export type AlertChange = 'opened' | 'reopened' | 'updated' | 'resolved' | 'unchanged'

/** Filters for listing alerts. */
export interface AlertFilter {
  status?: 'firing' | 'resolved'
  limit?: number
  beforeId?: number
}

/** Maps an `alerts` row to an Alert (also used by the incident queries that join alerts). */
export function alertFromRow(row: Selectable<AlertRow>): Alert {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    status: row.status as Alert['status'],
    labels: parseJson(row.labels, {}),
    annotations: parseJson(row.annotations, {}),
    source: row.source,
    startsAt: row.starts_at,
    ...(row.ends_at !== null ? { endsAt: row.ends_at } : {}),
    updatedAt: row.updated_at,
    eventCount: row.event_count,
    ...(row.suppressed_by !== null && row.suppressed_by !== undefined
      ? { suppressedBy: row.suppressed_by }
      : {}),
  }
}

/**
 * Applies an alert event to the alert with the same fingerprint: opens it, reopens a resolved
 * one, refreshes a firing one, or resolves it. A resolve for an unknown or resolved alert does
 * nothing. Run it inside the caller's transaction so the follow-up notifications commit with it.
 */
export async function upsertAlertByFingerprint(
  db: Executor,
  event: AlertEvent,
): Promise<{ alert?: Alert; change: AlertChange }> {
  const labels = JSON.stringify(event.labels)
  const annotations = JSON.stringify(event.annotations)
  if (event.status === 'firing') {
    // The common case, a sender repeating a firing alert (dedup), in one statement; anything
    // else (new, reopened, resolved) falls through to read the row first.
    const refreshed = await db
      .updateTable('alerts')
      .set((eb) => ({
        labels,
        annotations,
        ends_at: null,
        updated_at: event.at,
        event_count: eb('event_count', '+', 1),
      }))
      .where('fingerprint', '=', event.fingerprint)
      .where('status', '=', 'firing')
      .returningAll()
      .executeTakeFirst()
    if (refreshed) return { alert: alertFromRow(refreshed), change: 'updated' }
  }
  const existing = await db
    .selectFrom('alerts')
    .selectAll()
    .where('fingerprint', '=', event.fingerprint)
    .executeTakeFirst()
  if (!existing) {
    if (event.status === 'resolved') return { change: 'unchanged' }
    const row = await db
      .insertInto('alerts')
      .values({
        fingerprint: event.fingerprint,
        status: 'firing',
        labels,
        annotations,
        source: event.source,
        starts_at: event.at,
        ends_at: null,
        updated_at: event.at,
        event_count: 1,
        suppressed_by: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return { alert: alertFromRow(row), change: 'opened' }
  }
  if (event.status === 'resolved' && existing.status === 'resolved') {
    return { alert: alertFromRow(existing), change: 'unchanged' }
  }
  const change: AlertChange =
    event.status === 'resolved'
      ? 'resolved'
      : existing.status === 'resolved'
        ? 'reopened'
        : 'updated'
  const row = await db
    .updateTable('alerts')
    .set({
      status: event.status,
      labels,
      annotations,
      starts_at: change === 'reopened' ? event.at : existing.starts_at,
      ends_at: event.status === 'resolved' ? event.at : null,
      updated_at: event.at,
      event_count: existing.event_count + 1,
      // A reopened alert is judged afresh by the pipeline; a resolved one keeps the reason it was
      // muted, so its recovery is not announced when its failure never was.
      ...(change === 'reopened' ? { suppressed_by: null } : {}),
    })
    .where('id', '=', existing.id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return { alert: alertFromRow(row), change }
}

/** Alerts, newest first, keyset-paginated by id. */
export async function listAlerts(db: Executor, filter: AlertFilter = {}): Promise<Alert[]> {
  let query = db
    .selectFrom('alerts')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return (await query.execute()).map(alertFromRow)
}

/** One alert by fingerprint. */
export async function getAlert(db: Executor, fingerprint: string): Promise<Alert | undefined> {
  const row = await db
    .selectFrom('alerts')
    .selectAll()
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirst()
  return row ? alertFromRow(row) : undefined
}
