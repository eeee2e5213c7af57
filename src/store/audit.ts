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

/** Audit events, newest first, keyset-paginated by id. */
export async function listAudit(
  db: Executor,
  filter: { objectType?: string; objectId?: string; beforeId?: number; limit?: number } = {},
): Promise<AuditEvent[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.objectType) query = query.where('object_type', '=', filter.objectType)
  if (filter.objectId) query = query.where('object_id', '=', filter.objectId)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  const rows = await query.execute()
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    objectType: r.object_type,
    objectId: r.object_id,
    ...(r.source !== null ? { source: r.source } : {}),
    ...(r.details !== null ? { details: parseJson(r.details, undefined) } : {}),
  }))
}
