import { parseJson, type Executor } from './dialect.js'

/** Who did what to which object, when, from where. Append-only. */
export interface AuditEvent {
  id: number
  at: number
  actor: string
  action: string
  objectType: string
  objectId: string
  source?: string
  details?: unknown
}

/** Appends one audit event. */
export async function appendAudit(db: Executor, event: Omit<AuditEvent, 'id'>): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      at: event.at,
      actor: event.actor,
      action: event.action,
      object_type: event.objectType,
      object_id: event.objectId,
      source: event.source ?? null,
      details: event.details === undefined ? null : JSON.stringify(event.details),
    })
    .execute()
}

/** Which audit events to list; every field narrows the result. */
export interface AuditFilter {
  actor?: string
  action?: string
  objectType?: string
  objectId?: string
  /** Events at or after this instant (ms). */
  since?: number
  /** Events before this instant (ms). */
  until?: number
  /** Keyset cursor: events with a smaller id (newest first) or a larger one (oldest first). */
  beforeId?: number
  afterId?: number
  limit?: number
  /** `desc` (default) for the newest first, `asc` for export in the order they happened. */
  order?: 'asc' | 'desc'
}

/**
 * Audit events, newest first, keyset-paginated by id. There is no update or delete: the trail
 * is append-only, and migration 0008 adds triggers that refuse both on either dialect.
 */
export async function listAudit(db: Executor, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .orderBy('id', filter.order ?? 'desc')
    .limit(filter.limit ?? 100)
  if (filter.actor) query = query.where('actor', '=', filter.actor)
  if (filter.action) query = query.where('action', '=', filter.action)
  if (filter.objectType) query = query.where('object_type', '=', filter.objectType)
  if (filter.objectId) query = query.where('object_id', '=', filter.objectId)
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since)
  if (filter.until !== undefined) query = query.where('at', '<', filter.until)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
  const rows = await query.execute()
  return rows.map((r) => ({
    id: Number(r.id),
    at: Number(r.at),
    actor: r.actor,
    action: r.action,
    objectType: r.object_type,
    objectId: r.object_id,
    ...(r.source !== null ? { source: r.source } : {}),
    ...(r.details !== null ? { details: parseJson(r.details, undefined) } : {}),
  }))
}
