/** Row types of the on-call tables (added by migration 0009). */
export interface OncallTables {
  schedule_overrides: ScheduleOverrideRow
}

/** An override made through the API: `user_id` on call in `schedule_id` over [starts_at, ends_at). */
export interface ScheduleOverrideRow {
  id: string
  schedule_id: string
  user_id: string
  starts_at: number
  ends_at: number
  note: string | null
  created_by: string
  created_at: number
}
