import type { Instant } from '../time.js'
import { finalSchedule, type OnCallShift } from './final-schedule.js'
import type { Schedule } from './schedule-schema.js'
import { dayMs } from './wall-clock.js'

/** How far either side of an instant a shift's start and end are looked for: a leap year. */
export const shiftSearchLimit = 366 * dayMs

/**
 * The span of the final schedule containing `at`, with its full extent (not clipped to a range)
 * as far as `shiftSearchLimit` either side; a gap when nobody is on call.
 */
export function spanAt(schedule: Schedule, at: Instant): OnCallShift {
  let reach = dayMs
  for (;;) {
    const spans = finalSchedule(schedule, at - reach, at + reach)
    const span = spans.find((candidate) => candidate.start <= at && at < candidate.end)
    // finalSchedule tiles its range, so some span always contains `at`.
    const found = span as OnCallShift
    const clipped = found.start === at - reach || found.end === at + reach
    if (!clipped || reach >= shiftSearchLimit) return found
    reach = Math.min(reach * 2, shiftSearchLimit)
  }
}

/**
 * Who is on call at `at`: one shift (its whole span and whether a layer or an override put the
 * user there), or none when the schedule has a gap then. A shift longer than a year either side
 * of `at` is cut there.
 */
export function whoIsOnCall(schedule: Schedule, at: Instant): OnCallShift[] {
  const span = spanAt(schedule, at)
  return span.user === undefined ? [] : [span]
}
