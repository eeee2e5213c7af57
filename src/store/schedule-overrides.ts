import type { Selectable } from 'kysely'
import type { Executor } from './dialect.js'
import type { ScheduleOverrideRow } from './schema-oncall.js'

/** A schedule override made through the API, instants in epoch ms. */
export interface StoredScheduleOverride {
  id: string
  scheduleId: string
  user: string
  start: number
  end: number
  note?: string
  createdBy: string
  createdAt: number
}

function fromRow(row: Selectable<ScheduleOverrideRow>): StoredScheduleOverride {
  return {
    id: row.id,
    scheduleId: row.schedule_id,
    user: row.user_id,
    start: Number(row.starts_at),
    end: Number(row.ends_at),
    ...(row.note !== null ? { note: row.note } : {}),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  }
}

/** Stores a new override. */
export async function insertScheduleOverride(
  db: Executor,
  override: StoredScheduleOverride,
): Promise<void> {
  await db
    .insertInto('schedule_overrides')
    .values({
      id: override.id,
      schedule_id: override.scheduleId,
      user_id: override.user,
      starts_at: override.start,
      ends_at: override.end,
      note: override.note ?? null,
      created_by: override.createdBy,
      created_at: override.createdAt,
    })
    .execute()
}

/**
 * The overrides that overlap `[from, to)`, of one schedule or of all, in the order they were made
 * (a later override wins where two overlap).
 */
export async function listScheduleOverrides(
  db: Executor,
  filter: { scheduleId?: string; from: number; to: number },
): Promise<StoredScheduleOverride[]> {
  let query = db
    .selectFrom('schedule_overrides')
    .selectAll()
    .where('ends_at', '>', filter.from)
    .where('starts_at', '<', filter.to)
  if (filter.scheduleId !== undefined) query = query.where('schedule_id', '=', filter.scheduleId)
  const rows = await query.orderBy('created_at').orderBy('id').execute()
  return rows.map(fromRow)
}

/** One override, if it exists. */
export async function getScheduleOverride(
  db: Executor,
  id: string,
): Promise<StoredScheduleOverride | undefined> {
  const row = await db
    .selectFrom('schedule_overrides')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? fromRow(row) : undefined
}

/** Deletes an override; false when there was none. */
export async function deleteScheduleOverride(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('schedule_overrides').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
