import type { Instant } from '../time.js'
import { finalSchedule } from './final-schedule.js'
import type { TimeRange } from './layer-shifts.js'
import type { Schedule } from './schedule-schema.js'

/** The ranges within `[from, to)` when nobody is on call, for coverage warnings. */
export function scheduleGaps(schedule: Schedule, from: Instant, to: Instant): TimeRange[] {
  return finalSchedule(schedule, from, to)
    .filter((span) => span.user === undefined)
    .map(({ start, end }) => ({ start, end }))
}
