import { DateTime } from 'luxon'
import { z } from 'zod'
import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import { matchesAll, matchesValue, matchersSchema, type Matcher } from './matchers.js'
import {
  isInTimeWindow,
  nextTimeWindowChange,
  timeZoneField,
  weeklyWindowFields,
  type TimeWindow,
  type Weekday,
} from './time-window.js'

/** A weekly maintenance slot on the window's wall clock, such as Sundays 02:00–04:00. */
export interface RecurringMaintenance {
  days: readonly Weekday[]
  from: string
  to: string
}

/**
 * A maintenance window: alerts matching every matcher are muted while it is in effect, and the
 * status page shows it. It is in effect from `oneOff.start` to `oneOff.end`, inside the
 * `recurring` slots, or, with both, inside the slots between those two instants.
 */
export interface MaintenanceWindow {
  id: string
  title: string
  matchers: readonly Matcher[]
  timeZone: string
  oneOff?: { start: Instant; end: Instant }
  recurring?: RecurringMaintenance
}

/** Where a maintenance window is: ahead (or between slots), in effect, or over for good. */
export type MaintenanceState = 'scheduled' | 'active' | 'completed'

function timeWindowOf(window: MaintenanceWindow): TimeWindow {
  const { oneOff, recurring } = window
  return {
    ...(oneOff ? { start: oneOff.start, end: oneOff.end } : {}),
    ...(recurring ? { weekly: { timeZone: window.timeZone, ...recurring } } : {}),
  }
}

function inEffect(window: MaintenanceWindow, at: Instant): boolean {
  // A window with neither part is never in effect rather than always.
  if (!window.oneOff && !window.recurring) return false
  return isInTimeWindow(timeWindowOf(window), at)
}

/** The state of a maintenance window at `now`, for the UI and the status page. */
export function maintenanceState(window: MaintenanceWindow, now: Instant): MaintenanceState {
  if (window.oneOff && now >= window.oneOff.end) return 'completed'
  return inEffect(window, now) ? 'active' : 'scheduled'
}

/** The maintenance windows in effect at `now` whose matchers all match the labels. */
export function activeMaintenance(
  windows: readonly MaintenanceWindow[],
  labels: Labels,
  now: Instant,
): MaintenanceWindow[] {
  return windows.filter((w) => inEffect(w, now) && matchesAll(w.matchers, labels))
}

/** Whether any maintenance window in effect at `now` covers these labels. */
export function isInMaintenance(
  windows: readonly MaintenanceWindow[],
  labels: Labels,
  now: Instant,
): boolean {
  return windows.some((w) => inEffect(w, now) && matchesAll(w.matchers, labels))
}

/**
 * The next instant after `after` at which the window starts or ends, or undefined when it
 * never changes again; the engine stores it as the due time of a start or end row.
 */
export function nextMaintenanceChange(
  window: MaintenanceWindow,
  after: Instant,
): Instant | undefined {
  if (!window.oneOff && !window.recurring) return undefined
  return nextTimeWindowChange(timeWindowOf(window), after)
}

const moment = z.union([z.number().int(), z.string()])

/**
 * Reads a one-off boundary: epoch ms, ISO 8601 with an offset, or a local date-time such as
 * `2026-03-29T01:00` on the window's wall clock (luxon moves a time DST skips forward).
 */
function instantIn(value: number | string, timeZone: string): Instant | undefined {
  if (typeof value === 'number') return value
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(value)
  const parsed = DateTime.fromISO(value, hasOffset ? { setZone: true } : { zone: timeZone })
  return parsed.isValid ? parsed.toMillis() : undefined
}

/**
 * A maintenance window in config or API input. It needs `oneOff`, `recurring` or both, and,
 * like a silence, a matcher that does not match the empty string.
 */
export const maintenanceWindowSchema = z
  .object({
    id: z.string().min(1, '`id` must not be empty'),
    title: z.string().trim().min(1, '`title` must not be empty; the status page shows it'),
    matchers: matchersSchema,
    timeZone: timeZoneField('timeZone'),
    oneOff: z.object({ start: moment, end: moment }).optional(),
    recurring: z.object(weeklyWindowFields).optional(),
  })
  .transform((input, ctx): MaintenanceWindow => {
    const prefix = `maintenance window \`${input.id}\``
    const { oneOff: rawOneOff, ...rest } = input
    let oneOff: MaintenanceWindow['oneOff']
    if (rawOneOff) {
      const start = instantIn(rawOneOff.start, input.timeZone)
      const end = instantIn(rawOneOff.end, input.timeZone)
      for (const [field, value, raw] of [
        ['start', start, rawOneOff.start],
        ['end', end, rawOneOff.end],
      ] as const) {
        if (value === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['oneOff', field],
            message: `${prefix}: \`oneOff.${field}\` must be an ISO 8601 date-time (with an offset, or local to ${input.timeZone}) or epoch milliseconds, got ${JSON.stringify(raw)}`,
          })
        }
      }
      if (start !== undefined && end !== undefined) {
        if (end <= start) {
          ctx.addIssue({
            code: 'custom',
            path: ['oneOff', 'end'],
            message: `${prefix}: \`oneOff.end\` must be after \`oneOff.start\``,
          })
        }
        oneOff = { start, end }
      }
    }
    if (!rawOneOff && !input.recurring) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `${prefix}: set \`oneOff\` (start and end) or \`recurring\` (days, from, to), or both`,
      })
    }
    if (input.matchers.every((m) => matchesValue(m, ''))) {
      ctx.addIssue({
        code: 'custom',
        path: ['matchers'],
        message: `${prefix}: \`matchers\` must include one that does not match the empty string, such as service="db-main"; otherwise it would mute every alert`,
      })
    }
    return { ...rest, ...(oneOff ? { oneOff } : {}) }
  })

/** A maintenance window as config or API input gives it, before parsing. */
export type MaintenanceWindowInput = z.input<typeof maintenanceWindowSchema>
