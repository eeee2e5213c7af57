import type { Instant } from '../time.js'
import { finalSchedule } from './final-schedule.js'
import type { Schedule } from './schedule-schema.js'
import { dayMs } from './wall-clock.js'
import { shiftSearchLimit } from './who-is-on-call.js'

/** Options of `nextHandoff`. */
export interface NextHandoffOptions {
  /** How far after `after` to look, in ms; defaults to a leap year. */
  within?: number
}

/**
 * The first instant after `after` at which the person on call changes (including to or from
 * nobody), or undefined when it does not change within `within`. A change of source for the
 * same user (a layer's shift becoming an override) is not a hand-off.
 */
export function nextHandoff(
  schedule: Schedule,
  after: Instant,
  options: NextHandoffOptions = {},
): Instant | undefined {
  const within = options.within ?? shiftSearchLimit
  let reach = Math.min(dayMs, within)
  for (;;) {
    const spans = finalSchedule(schedule, after, after + reach)
    const first = spans[0]
    const change = spans.find((span) => span.start > after && span.user !== first?.user)
    if (change !== undefined) return change.start
    if (reach >= within) return undefined
    reach = Math.min(reach * 2, within)
  }
}
